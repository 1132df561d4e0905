"""Apertium (Debian packages), through one long-lived pipeline per direction.

Starting ``apertium`` per message costs 55-105 ms (a dozen processes); the
mode's stages run once with ``-z`` (flush on NUL) and stay up, which brings a
sentence to ~2 ms (notes/translation.md §3). ``apertium -z`` itself does not
flush on NUL, so the stages of the ``.mode`` file are run directly, the way
apertium-apy does. Directions default to the Americas' variants (``spa-eng_US``,
``es-pt_BR``); Debian has no en-pt pair, so en<->pt pivots through es.

Placeholders are Apertium superblanks (``[1]``): the stream format passes
them through untouched and in place, and real brackets in the text are
escaped, so they can never be confused. A caret travels as the noncharacter
U+FDD0 rather than escaped: ``lrx-proc`` (eng-spa, spa-eng) swallows the NUL
flush after an escaped ``\\^`` with no word after it, which stalls the
pipeline until the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import shlex
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path

from bot.ports import Check
from translations.config import ApertiumSettings
from translations.engine import BackendError
from translations.protect import Codec, Parsed

log = logging.getLogger(__name__)

_SPECIAL = re.compile(r"([\[\]{}$@\\/<>])")
_CARET = "\ufdd0"  # a noncharacter: never in real text, passed through by every stage
_ESCAPED = re.compile(r"\\(.)")
# Stream format tokens: an escaped character, a blank [...] (escapes inside), an unclosed "[", a stray "]",
# a stretch of plain text, or a lone backslash at the very end.
_TOKEN = re.compile(r"\\.|\[((?:\\.|[^\\\]])*)\]|(\[)|\]|[^\\\[\]]+|\\", re.DOTALL)
_TERMINATOR = "[][\n]"


class SuperblankCodec:
    """Apertium stream format: specials escaped, placeholders as superblanks."""

    def escape(self, text: str) -> str:
        if _CARET in text:  # the stand-in must mean a caret and nothing else
            text = text.replace(_CARET, "\ufffd")
        text = text.replace("^", _CARET)
        return _SPECIAL.sub(r"\\\1", text) if _SPECIAL.search(text) else text

    def unescape(self, text: str) -> str:
        if "\\" in text:
            text = _ESCAPED.sub(r"\1", text)
        return text.replace(_CARET, "^")

    def mark(self, index: int) -> str:
        return f"[{index}]"

    def collides(self, text: str) -> bool:
        return False  # real brackets are escaped

    def parse(self, output: str) -> Parsed | None:
        out: Parsed = []
        text: list[str] = []
        for m in _TOKEN.finditer(output):
            content, unclosed = m.group(1), m.group(2)
            if content is not None:
                if content.isdigit():
                    out.append("".join(text))
                    text = []
                    out.append(int(content))
                elif content not in ("", "\n") and not (content.startswith("[") or content.endswith("]")):
                    return None  # a blank we did not write: treat the output as damaged
            elif unclosed is not None:
                return None
            elif m.group(0) != "]":  # a stray closing bracket is dropped
                text.append(m.group(0))
        out.append("".join(text))
        return out

    def text_of(self, output: str) -> str:
        parsed = self.parse(output)
        if parsed is None:
            return self.unescape(output)
        return self.unescape("".join(p if isinstance(p, str) else " " for p in parsed))


SUPERBLANKS = SuperblankCodec()


def mode_pipeline(mode_file: Path) -> str:
    """The mode's stages as one shell pipeline, each stage flushing on NUL (``-z``), unknown words unmarked."""
    stages = []
    for command in mode_file.read_text().strip().split("|"):
        command = command.strip().replace("$2", "").replace("$1", "-n")
        stages.append(re.sub(r"^(\S+)", r"\1 -z", command))
    return " | ".join(stages)


def mode_version(mode_file: Path) -> str:
    """Changes when the mode or any data file it names changes (a package upgrade)."""
    h = hashlib.sha256()
    text = mode_file.read_text()
    h.update(text.encode())
    for word in shlex.split(text.replace("|", " ")):
        path = Path(word)
        if path.is_absolute() and path.exists():
            st = path.stat()
            h.update(f"{word}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


class Pipe:
    """One running pipeline for one mode; one request at a time."""

    def __init__(self, mode: str, mode_file: Path, timeout: float) -> None:
        self.mode = mode
        self.mode_file = mode_file
        self.timeout = timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()
        self.restarts = 0

    async def _start(self) -> asyncio.subprocess.Process:
        try:
            proc = await asyncio.create_subprocess_exec(
                "bash",
                "-c",
                mode_pipeline(self.mode_file),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # its own process group, so a stop ends every stage
                limit=1 << 22,
            )
        except OSError as exc:
            raise BackendError("cannot start", f"{self.mode}: {exc}") from exc
        log.debug("apertium %s started (pid %s)", self.mode, proc.pid)
        return proc

    async def translate(self, text: str) -> str:
        async with self.lock:
            for attempt in (1, 2):  # a pipeline that dies under a request is restarted once
                if self.proc is None or self.proc.returncode is not None:
                    if self.proc is not None:
                        self.restarts += 1
                        log.info("apertium %s pipeline had exited; restarting", self.mode)
                    self.proc = await self._start()
                try:
                    async with asyncio.timeout(self.timeout):
                        return await self._exchange(self.proc, text)
                except TimeoutError:
                    await self.stop()  # its output is out of step with our requests now
                    raise BackendError("timeout", f"{self.mode}: no answer within {self.timeout:g}s") from None
                except (BrokenPipeError, ConnectionResetError, asyncio.IncompleteReadError) as exc:
                    await self.stop()
                    if attempt == 2:
                        raise BackendError("pipeline died", f"{self.mode}: {type(exc).__name__}") from exc
                    self.restarts += 1
                    log.info("apertium %s pipeline died; restarting once", self.mode)
            raise AssertionError("unreachable")

    @staticmethod
    async def _exchange(proc: asyncio.subprocess.Process, text: str) -> str:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(text.replace("\0", " ").encode() + _TERMINATOR.encode() + b"\0")
        await proc.stdin.drain()
        raw = await proc.stdout.readuntil(b"\0")
        out = raw[:-1].decode("utf-8", errors="replace")
        # the terminator blank comes back, sometimes followed by a closing word-bound blank
        out = re.sub(r"\[\]\[\n\](\[\[/\]\])?\s*$", "", out)
        return out.replace("[[/]]", "")

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(2):
                await proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


class ApertiumEngine:
    """The ``apertium`` backend."""

    name = "apertium"
    codec: Codec = SUPERBLANKS

    def __init__(self, settings: ApertiumSettings) -> None:
        self.settings = settings
        self.timeout = settings.timeout * 2 + 1  # covers one restart; each pipe has its own timeout
        self._pipes: dict[tuple[str, str], Pipe] = {}
        self._versions: dict[tuple[str, str], str] = {}
        self._available: tuple[int, frozenset[tuple[str, str]]] | None = None

    def mode_file(self, pair: tuple[str, str]) -> Path | None:
        mode = self.settings.modes.get(f"{pair[0]}-{pair[1]}")
        if not mode:
            return None
        path = self.settings.modes_dir / f"{mode}.mode"
        return path if path.is_file() else None

    def available(self) -> frozenset[tuple[str, str]]:
        """The configured directions whose mode file exists; rescanned when the modes directory changes.

        Installing or removing an Apertium package adds or deletes mode files, which changes the
        directory's mtime: one stat per message instead of one per configured direction.
        """
        try:
            stamp = self.settings.modes_dir.stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp is not None and self._available is not None and self._available[0] == stamp:
            return self._available[1]
        out = set()
        for key in self.settings.modes:
            src, _, tgt = key.partition("-")
            if self.mode_file((src, tgt)) is not None:
                out.add((src, tgt))
        pairs = frozenset(out)
        self._available = None if stamp is None else (stamp, pairs)
        return pairs

    def version(self, source: str, target: str) -> str:
        pair = (source, target)
        if pair not in self._versions:
            path = self.mode_file(pair)
            self._versions[pair] = f"{path.stem}@{mode_version(path)}" if path else "none"
        return self._versions[pair]

    async def pairs(self) -> frozenset[tuple[str, str]]:
        return self.available()

    async def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        pipe = self._pipes.get((source, target))
        if pipe is None:
            path = self.mode_file((source, target))
            if path is None:
                raise BackendError(f"missing pair {source}-{target}", f"no mode file in {self.settings.modes_dir}")
            pipe = Pipe(path.stem, path, self.settings.timeout)
            self._pipes[(source, target)] = pipe
        return [tidy_spaces(text, await pipe.translate(text)) for text in texts]

    def checks(self) -> list[Check]:
        pairs = self.available()
        binary = shutil.which("lt-proc") is not None
        listing = ", ".join(f"{a}-{b} ({self.settings.modes[f'{a}-{b}']})" for a, b in sorted(pairs))
        out = [
            Check(
                "translation: apertium",
                bool(pairs) and binary,
                f"{self.settings.modes_dir}: {listing or 'no modes'}" + ("" if binary else "; lt-proc not on PATH"),
                "apt-get install apertium apertium-eng-spa apertium-es-pt",
            )
        ]
        restarted = {p.mode: p.restarts for p in self._pipes.values() if p.restarts}
        if restarted:
            out.append(
                Check(
                    "translation: apertium pipelines",
                    True,
                    "restarted: " + ", ".join(f"{m} x{n}" for m, n in sorted(restarted.items())),
                )
            )
        return out

    async def close(self) -> None:
        for pipe in self._pipes.values():
            await pipe.stop()
        self._pipes.clear()


_SPACE_RUN = re.compile(r"(?<=\S) {2,}(?=\S)")


def tidy_spaces(source: str, output: str) -> str:
    """Apertium leaves the blanks of words it drops ("How do you count" -> "Cómo   cuentas"): close
    those gaps, unless the writer put double spaces there themselves."""
    return output if "  " in source else _SPACE_RUN.sub(" ", output)
