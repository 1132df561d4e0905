"""Files that reach every city: fetched once from the source platform, stored once, uploaded with each copy.

A Slack file's link opens only for members of its workspace and a Discord CDN link
expires within about a day, so relaying links leaves other cities with "📎 plan.pdf"
they cannot open. Instead the core fetches the file as soon as the message is
committed (through the source adapter, with its credentials), keeps it in a
content-addressed store beside the database, and the composer hands it to every
destination adapter to upload. A file that cannot travel (too large for the
destination, or not fetchable) is announced in the copy with its name, size and
the city that has it: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from bot.errors import DeliveryError
from bot.events import Attachment, ChannelRef
from bot.ports import Adapter, BlobStore, FileTransfer
from bot.store import FETCHED, FILE_FAILED, FILE_PENDING, TOO_LARGE, Store, StoredFile

log = logging.getLogger(__name__)
MB = 1024 * 1024


class LocalBlobStore:
    """Files under ``root/ab/abcdef…`` (the sha256 of the content), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a file key: {key[:70]!r}")
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        target = self._file(key)
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def path(self, key: str) -> Path | None:
        try:
            target = self._file(key)
        except ValueError:
            return None
        return target if target.is_file() else None

    def delete(self, key: str) -> None:
        target = self.path(key)
        if target is not None:
            target.unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for f in sorted(sub.iterdir()):
                    if len(f.name) == 64:
                        yield f.name


def human_size(size: int | None) -> str:
    """``2.3 MB``, ``840 KB``, ``12 bytes``: what a reader needs to judge a file."""
    if size is None:
        return "?"
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} bytes"


class Files:
    """Fetches announced files once, and tells the composer what each copy can carry."""

    def __init__(
        self, store: Store, blobs: BlobStore, adapters: Mapping[str, Adapter], max_bytes: int = 100 * MB
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.adapters = adapters
        self.max_bytes = max_bytes
        self._fetching: dict[int, asyncio.Task[None]] = {}

    def start(self) -> None:
        """Resume fetches a restart interrupted."""
        for message_id in self.store.messages_with_pending_files():
            self.fetch_soon(message_id)

    def fetch_soon(self, message_id: int) -> None:
        """Start fetching a message's files now: a Discord link expires, a delivery may wait."""
        task = self._fetching.get(message_id)
        if task is None or task.done():
            task = asyncio.create_task(self._fetch_all(message_id), name=f"files of #{message_id}")
            self._fetching[message_id] = task
            task.add_done_callback(lambda _t: self._fetching.pop(message_id, None))

    async def ready(self, message_id: int) -> list[StoredFile]:
        """The message's files once every fetch has ended (stored, too large or failed)."""
        files = self.store.files_of(message_id)
        if any(f.state == FILE_PENDING for f in files):
            self.fetch_soon(message_id)
            task = self._fetching.get(message_id)
            if task is not None:
                await asyncio.shield(task)
            files = self.store.files_of(message_id)
        return files

    async def _fetch_all(self, message_id: int) -> None:
        msg = self.store.message(message_id)
        if msg is None:
            return
        adapter = self.adapters.get(msg.channel.platform)
        for f in self.store.files_of(message_id):
            if f.state != FILE_PENDING:
                continue
            try:
                await self._fetch_one(f, adapter, msg.channel)
            except Exception as exc:  # one bad file must not keep the others (or the copies) waiting
                log.exception("fetching file %s of message %s failed", f.id, message_id)
                self.store.set_file(f.id, FILE_FAILED, error=f"internal error: {exc!r}"[:200])

    async def _fetch_one(self, f: StoredFile, adapter: Adapter | None, channel: ChannelRef) -> None:
        if f.size is not None and f.size > self.max_bytes:
            self.store.set_file(f.id, TOO_LARGE, error=f"over the {human_size(self.max_bytes)} limit")
            return
        if not isinstance(adapter, FileTransfer):
            self.store.set_file(f.id, FILE_FAILED, error="the source platform cannot share files")
            return
        attachment = Attachment(f.name, f.source_url, f.size, f.mime, f.platform_file_id)
        try:
            data = await adapter.fetch(attachment, channel)
        except DeliveryError as exc:
            log.warning("could not fetch file %s of message %s: %s", f.id, f.message_id, exc.reason)
            self.store.set_file(f.id, FILE_FAILED, error=exc.reason[:200])
            return
        if len(data) > self.max_bytes:
            self.store.set_file(f.id, TOO_LARGE, size=len(data), error=f"over the {human_size(self.max_bytes)} limit")
            return
        key = await asyncio.to_thread(self.blobs.put, data)
        self.store.set_file(f.id, FETCHED, key=key, size=len(data))

    def forget_unreferenced(self) -> int:
        """Delete stored blobs no file row points at any more (after retention or erasure)."""
        wanted = self.store.file_keys()
        removed = 0
        for key in list(self.blobs.keys()):
            if key not in wanted:
                self.blobs.delete(key)
                removed += 1
        return removed
