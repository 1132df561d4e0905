"""Argos Translate (argos-translate-lt: CTranslate2 + SentencePiece, no torch), on this machine.

Models are the packages in ``translation.argos.packages_dir``, found by reading
their metadata.json, so the directory is rescanned cheaply when ``agora models
install`` adds one while the bot runs. Decoding is CPU-bound and blocking, so it
runs in a worker thread, one call at a time (CTranslate2 already uses the
configured threads; two decodes at once on a small VM only slow each other).
Beam 1 by default: chat messages are short and greedy decoding halves latency
(notes/translation.md §6).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.extras import import_extra
from bot.languages import LANGUAGES
from bot.ports import Check
from translations.config import ArgosSettings
from translations.engine import BackendError
from translations.packages import InstalledPackage, installed_packages
from translations.protect import BRACKETS, Codec

log = logging.getLogger(__name__)

_import_lock = threading.Lock()


def argos_runtime(settings: ArgosSettings) -> ModuleType:
    """Import argostranslate with its environment pointed at our settings first.

    argostranslate reads ARGOS_* once at import and creates its data, config
    and cache directories then; setting the environment before the first import
    is the only way to steer it.
    """
    with _import_lock:
        if "translations.backends._argos_runtime" not in sys.modules:
            os.environ["ARGOS_PACKAGES_DIR"] = str(settings.packages_dir)
            os.environ["ARGOS_BEAM_SIZE"] = str(settings.beam_size)
            os.environ["ARGOS_INTRA_THREADS"] = str(settings.threads)
            os.environ["ARGOS_INTER_THREADS"] = "1"
            os.environ.setdefault("ARGOS_DEVICE_TYPE", "cpu")
        runtime = import_extra("translations.backends._argos_runtime", "translation.backend 'argos'")
    runtime.configure(settings.beam_size, settings.threads)
    return runtime


class ArgosEngine:
    """The ``argos`` backend."""

    name = "argos"
    codec: Codec = BRACKETS

    def __init__(self, settings: ArgosSettings) -> None:
        self.settings = settings
        self.timeout = settings.timeout
        self._lock = asyncio.Lock()
        self._decoding = threading.Lock()  # a timed-out call's thread may still be decoding
        self._stamp: float | None = None
        self._packages: dict[tuple[str, str], InstalledPackage] = {}
        self._loaded: dict[Path, Any] = {}
        self._rescan()

    @property
    def packages_dir(self) -> Path:
        return self.settings.packages_dir

    def _rescan(self) -> None:
        try:
            stamp = self.packages_dir.stat().st_mtime
        except OSError:
            stamp = None
        if stamp == self._stamp and self._packages:
            return
        self._stamp = stamp
        self._packages = {p.pair: p for p in installed_packages(self.packages_dir)}

    def installed(self) -> list[InstalledPackage]:
        self._rescan()
        return sorted(self._packages.values(), key=lambda p: p.pair)

    def version(self, source: str, target: str) -> str:
        pkg = self._packages.get((source, target))
        return f"{pkg.path.name}@{pkg.version}" if pkg else "none"

    async def pairs(self) -> frozenset[tuple[str, str]]:
        self._rescan()
        return frozenset(self._packages)

    async def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        pkg = self._packages.get((source, target))
        if pkg is None:
            raise BackendError(f"missing pair {source}-{target}", f"no package in {self.packages_dir}")
        async with self._lock:
            return await asyncio.to_thread(self._translate_sync, list(texts), pkg)

    def _translate_sync(self, texts: list[str], pkg: InstalledPackage) -> list[str]:
        with self._decoding:
            return self._decode(texts, pkg)

    def _decode(self, texts: list[str], pkg: InstalledPackage) -> list[str]:
        runtime = argos_runtime(self.settings)
        model = self._loaded.get(pkg.path)
        try:
            if model is None:
                model = runtime.load(pkg.path, self.settings.sentence_splitter)
                self._loaded[pkg.path] = model
            return list(runtime.translate(model, texts))
        except (OSError, RuntimeError, ValueError, KeyError, IndexError) as exc:
            self._loaded.pop(pkg.path, None)
            raise BackendError("model error", f"{pkg.path.name}: {type(exc).__name__}: {exc}") from exc

    def checks(self) -> list[Check]:
        packages = self.installed()
        have = {p.pair for p in packages}
        listing = ", ".join(f"{a}-{b} {p.version}" for (a, b), p in sorted(self._packages.items()))
        out = [
            Check(
                "translation: argos models",
                bool(packages),
                f"{self.packages_dir}: {listing or 'no packages'}",
                "agora models install en-es es-en es-pt pt-es en-pt pt-en",
            )
        ]
        missing = [(a, b) for a in LANGUAGES for b in LANGUAGES if a != b and (a, b) not in have]
        unreachable = [
            f"{a}-{b}" for a, b in missing if not any((a, p) in have and (p, b) in have for p in ("es", "en"))
        ]
        if packages and unreachable:
            out.append(
                Check(
                    "translation: argos pairs",
                    False,
                    f"no direct or pivot route for {', '.join(unreachable)}",
                    "agora models install " + " ".join(unreachable),
                )
            )
        if self.settings.sentence_splitter == "minisbd":
            without = [p.path.name for p in packages if not any((p.path / "minisbd").glob("*.onnx"))]
            if without:
                out.append(
                    Check(
                        "translation: argos sentence splitter",
                        True,
                        f"no minisbd/*.onnx in {', '.join(without)}; the regex splitter is used for them",
                    )
                )
        return out

    async def close(self) -> None:
        self._loaded.clear()
