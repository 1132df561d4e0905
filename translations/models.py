"""Downloading Argos model packages: the index, resumable downloads, installation.

A city's machine may sit on a slow or flaky link and the packages are ~80 MB
each, so a download continues where it stopped (HTTP Range on a ``.part``
file) and is verified (checksum when the index gives one, then the archive
checks of :mod:`translations.packages`) before anything is installed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bot.languages import LANGUAGES, PAIRS
from translations.packages import (
    InstalledPackage,
    PackageError,
    install_archive,
    installed_packages,
    staging_dir,
    version_key,
)

log = logging.getLogger(__name__)

ALL_PAIRS: tuple[tuple[str, str], ...] = PAIRS
CHUNK = 1 << 16


class Progress(Protocol):
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[str, int | None, int], Progress]


class _Silent:
    def update(self, n: int) -> None:
        return None

    def close(self) -> None:
        return None


def no_progress(name: str, total: int | None, initial: int) -> Progress:
    return _Silent()


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One package offered by the index."""

    from_code: str
    to_code: str
    version: str
    links: tuple[str, ...]
    code: str
    sha256: str | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return (self.from_code, self.to_code)

    @property
    def filename(self) -> str:
        return f"{self.code}-{self.version.replace('.', '_')}.argosmodel"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one requested pair."""

    pair: tuple[str, str]
    status: str  # "installed" | "skipped" | "missing" | "failed"
    detail: str = ""


def parse_pair(text: str) -> tuple[str, str]:
    """``en-es`` into ("en", "es"); ValueError on anything else."""
    src, sep, tgt = text.strip().lower().partition("-")
    if not sep or src not in LANGUAGES or tgt not in LANGUAGES or src == tgt:
        raise ValueError(f"{text!r} is not a pair like en-es (languages: {', '.join(LANGUAGES)})")
    return (src, tgt)


def parse_index(data: Any) -> list[IndexEntry]:
    """Entries of an argospm index.json that we can use (http links, en/es/pt translate packages)."""
    if not isinstance(data, list):
        raise PackageError("package index: expected a JSON list")
    out: list[IndexEntry] = []
    for item in data:
        if not isinstance(item, dict) or item.get("type", "translate") != "translate":
            continue
        src, tgt = str(item.get("from_code")), str(item.get("to_code"))
        links = tuple(str(u) for u in item.get("links", []) if str(u).startswith(("http://", "https://")))
        if src not in LANGUAGES or tgt not in LANGUAGES or not links:
            continue
        checksum = item.get("sha256") or item.get("checksum")
        if isinstance(checksum, str) and checksum.startswith("sha256:"):
            checksum = checksum[len("sha256:") :]
        code = str(item.get("code") or f"translate-{src}_{tgt}")
        version = str(item.get("package_version", "0"))
        out.append(IndexEntry(src, tgt, version, links, code, checksum if isinstance(checksum, str) else None))
    return out


async def fetch_index(session: aiohttp.ClientSession, url: str) -> list[IndexEntry]:
    try:
        async with session.get(url) as resp:
            if resp.status != 200:
                raise PackageError(f"package index {url}: HTTP {resp.status}")
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise PackageError(f"package index {url}: {exc or type(exc).__name__}") from exc
    return parse_index(data)


async def download(session: aiohttp.ClientSession, url: str, part: Path, progress: ProgressFactory) -> Path:
    """Fetch ``url`` into ``part``, continuing a previous partial download when the server allows."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    async with session.get(url, headers=headers) as resp:
        if resp.status == 416 and have:  # the .part is already whole (or stale): verify decides
            return part
        if resp.status not in (200, 206):
            raise PackageError(f"{url}: HTTP {resp.status}")
        resume = resp.status == 206 and _range_start(resp.headers.get("Content-Range")) == have
        if not resume:
            have = 0
        total = resp.content_length + have if resp.content_length is not None else None
        bar = progress(part.name.removesuffix(".part"), total, have)
        try:
            with part.open("ab" if resume else "wb") as fh:
                async for chunk in resp.content.iter_chunked(CHUNK):
                    fh.write(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
    if total is not None and part.stat().st_size != total:
        raise PackageError(f"{url}: got {part.stat().st_size} of {total} bytes; run the install again to resume")
    return part


def _range_start(header: str | None) -> int | None:
    # "bytes 100-999/1000"
    if not header or not header.startswith("bytes "):
        return None
    start = header[6:].split("-", 1)[0]
    return int(start) if start.isdigit() else None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


async def install_pairs(
    pairs: Sequence[tuple[str, str]],
    packages_dir: Path,
    index_url: str,
    *,
    progress: ProgressFactory = no_progress,
    timeout: float = 600.0,
) -> list[Outcome]:
    """Install the newest index package for each pair, skipping pairs already up to date."""
    installed = {p.pair: p for p in installed_packages(packages_dir)}
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        index = await fetch_index(session, index_url)
        newest: dict[tuple[str, str], IndexEntry] = {}
        for entry in index:
            old = newest.get(entry.pair)
            if old is None or version_key(entry.version) > version_key(old.version):
                newest[entry.pair] = entry
        outcomes: list[Outcome] = []
        for pair in pairs:
            offer = newest.get(pair)
            have = installed.get(pair)
            if offer is None:
                outcomes.append(Outcome(pair, "missing", "not in the package index; it will pivot through es or en"))
            elif have is not None and version_key(have.version) >= version_key(offer.version):
                outcomes.append(Outcome(pair, "skipped", f"already installed ({have.version})"))
            else:
                outcomes.append(await _install_entry(session, offer, packages_dir, progress))
    return outcomes


async def _install_entry(
    session: aiohttp.ClientSession, entry: IndexEntry, packages_dir: Path, progress: ProgressFactory
) -> Outcome:
    work = staging_dir(packages_dir)
    work.mkdir(parents=True, exist_ok=True)
    part = work / (entry.filename + ".part")
    errors: list[str] = []
    for url in entry.links:
        try:
            await download(session, url, part, progress)
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors.append(f"{url}: {exc or type(exc).__name__} (run the install again to resume)")
            continue
        except PackageError as exc:
            errors.append(str(exc))
            continue
        try:
            if entry.sha256 is not None and sha256_of(part) != entry.sha256.lower():
                raise PackageError(f"{entry.filename}: checksum mismatch")
            pkg, _ = install_archive(part, packages_dir, expect=entry.pair)
        except PackageError as exc:
            part.unlink(missing_ok=True)  # a bad file must not be resumed
            errors.append(str(exc))
            continue
        part.unlink(missing_ok=True)
        return Outcome(entry.pair, "installed", f"{pkg.version} in {pkg.path.name}")
    return Outcome(entry.pair, "failed", "; ".join(errors))


def install_files(paths: Sequence[Path], packages_dir: Path) -> list[tuple[Path, InstalledPackage | None, str]]:
    """Install local .argosmodel files (offline); per file the package or the reason it was refused."""
    out: list[tuple[Path, InstalledPackage | None, str]] = []
    for path in paths:
        try:
            pkg, fresh = install_archive(path, packages_dir)
        except PackageError as exc:
            out.append((path, None, str(exc)))
            continue
        out.append((path, pkg, "installed" if fresh else f"already installed ({pkg.version})"))
    return out
