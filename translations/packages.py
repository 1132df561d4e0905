"""Argos model packages on disk: read, check and install them without argostranslate.

argostranslate's own ``install_from_path`` extracts any zip straight into the
packages directory with no checks, and its listing breaks on one stray
directory, so installing is done here: the archive must be a valid zip with
one top directory holding a metadata.json whose language codes are the ones
expected; it is extracted next to the packages directory and renamed into
place, so a crash never leaves a half-installed model where the engine looks.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.errors import AgoraError
from bot.languages import LANGUAGES

log = logging.getLogger(__name__)


class PackageError(AgoraError):
    """A model package is corrupt, mislabelled or cannot be installed."""


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """A translate package unpacked in the packages directory."""

    from_code: str
    to_code: str
    version: str
    path: Path

    @property
    def pair(self) -> tuple[str, str]:
        return (self.from_code, self.to_code)


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key for "1.9", "1.10", "1.0.2" (numeric where numeric, never comparing int with str)."""
    return tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in version.replace("-", ".").split("."))


def read_metadata(path: Path) -> dict[str, object]:
    try:
        data = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackageError(f"{path.name}: unreadable metadata.json ({exc})") from exc
    if not isinstance(data, dict):
        raise PackageError(f"{path.name}: metadata.json is not an object")
    return data


def installed_packages(packages_dir: Path) -> list[InstalledPackage]:
    """Translate packages among en/es/pt, newest version per pair; other directories are skipped."""
    best: dict[tuple[str, str], InstalledPackage] = {}
    if not packages_dir.is_dir():
        return []
    for child in sorted(packages_dir.iterdir()):
        if not child.is_dir() or child.name.startswith(".") or not (child / "metadata.json").exists():
            continue
        try:
            meta = read_metadata(child)
        except PackageError as exc:
            log.warning("skipping model package: %s", exc)
            continue
        if meta.get("type", "translate") != "translate":
            continue
        pkg = InstalledPackage(
            str(meta.get("from_code")), str(meta.get("to_code")), str(meta.get("package_version", "0")), child
        )
        if pkg.from_code not in LANGUAGES or pkg.to_code not in LANGUAGES:
            continue
        old = best.get(pkg.pair)
        if old is None or version_key(pkg.version) > version_key(old.version):
            best[pkg.pair] = pkg
    return sorted(best.values(), key=lambda p: p.pair)


def verify_archive(path: Path, expect: tuple[str, str] | None = None) -> tuple[str, dict[str, object]]:
    """Check an .argosmodel zip; returns its top directory and metadata."""
    if not zipfile.is_zipfile(path):
        raise PackageError(f"{path.name}: not a zip archive")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            bad = zf.testzip()
            if bad is not None:
                raise PackageError(f"{path.name}: corrupt member {bad}")
            tops = set()
            for name in names:
                parts = PurePosixPath(name).parts
                if not parts or name.startswith("/") or ".." in parts or "\\" in name:
                    raise PackageError(f"{path.name}: unsafe path {name!r}")
                tops.add(parts[0])
            if len(tops) != 1:
                raise PackageError(f"{path.name}: expected one top directory, found {len(tops)}")
            top = tops.pop()
            if f"{top}/metadata.json" not in names:
                raise PackageError(f"{path.name}: no {top}/metadata.json")
            meta = json.loads(zf.read(f"{top}/metadata.json"))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PackageError(f"{path.name}: {exc}") from exc
    if not isinstance(meta, dict):
        raise PackageError(f"{path.name}: metadata.json is not an object")
    if meta.get("type", "translate") != "translate":
        raise PackageError(f"{path.name}: not a translate package (type {meta.get('type')!r})")
    pair = (str(meta.get("from_code")), str(meta.get("to_code")))
    if expect is not None and pair != expect:
        raise PackageError(f"{path.name}: metadata says {pair[0]}-{pair[1]}, expected {expect[0]}-{expect[1]}")
    if pair[0] not in LANGUAGES or pair[1] not in LANGUAGES:
        raise PackageError(f"{path.name}: {pair[0]}-{pair[1]} is not a pair among {', '.join(LANGUAGES)}")
    return top, meta


def install_archive(
    path: Path, packages_dir: Path, expect: tuple[str, str] | None = None
) -> tuple[InstalledPackage, bool]:
    """Install a verified archive atomically; returns the package and False when it was already there."""
    top, meta = verify_archive(path, expect)
    pair = (str(meta["from_code"]), str(meta["to_code"]))
    version = str(meta.get("package_version", "0"))
    current = {p.pair: p for p in installed_packages(packages_dir)}.get(pair)
    if current is not None and version_key(current.version) >= version_key(version):
        return current, False
    packages_dir.mkdir(parents=True, exist_ok=True)
    staging_root = staging_dir(packages_dir)
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="install-", dir=staging_root))
    try:
        with zipfile.ZipFile(path) as zf:
            zf.extractall(staging)
        dest = packages_dir / top
        if dest.exists():  # same directory name, older version: swap it out
            old = staging / ".old"
            os.rename(dest, old)
        os.rename(staging / top, dest)
        if current is not None and current.path != dest and current.path.exists():
            shutil.rmtree(current.path)
    except OSError as exc:
        raise PackageError(f"{path.name}: cannot install into {packages_dir}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("installed model %s-%s %s into %s", pair[0], pair[1], version, dest)
    return InstalledPackage(pair[0], pair[1], version, dest), True


def staging_dir(packages_dir: Path) -> Path:
    """Work space beside (not inside) the packages directory: same filesystem, invisible to argos."""
    return packages_dir.with_name(f".{packages_dir.name}.partial")
