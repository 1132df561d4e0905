"""Heavy reads (reports, digests, search) run off the event loop.

A report or a search over a long history must not hold up relays, Slack
acknowledgements or Discord heartbeats. These reads run in one worker thread on
a connection of their own, which the store hands out
(:func:`bot.store.open_read_database`: on SQLite a read-only connection, which
WAL lets read a consistent snapshot while the main connection writes).
One thread bounds the memory and CPU they can take: reads queue behind each
other, never in front of the loop.

An in-memory database cannot be opened twice, so there (tests, throwaway runs)
reads run inline on the main store.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.store import Store, open_read_database

T = TypeVar("T")


class Reads:
    """Runs read-only work against the database, off the loop when the database is a file."""

    def __init__(self, store: Store, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.path = str(path)
        self.clock = clock
        self.inline = self.path == ":memory:"  # a second connection would see another, empty database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agora-reads")
        self._local = threading.local()
        self.queued = 0  # reads submitted and not yet finished (waiting or running)
        self._closed = False

    async def run(self, work: Callable[[Store], T]) -> T:
        """``work(store)`` with a read-only store, in the reads thread (inline for in-memory databases)."""
        if self.inline:
            return work(self.store)
        loop = asyncio.get_running_loop()
        self.queued += 1
        try:
            return await loop.run_in_executor(self._executor, self._call, work)
        finally:
            self.queued -= 1

    def _call(self, work: Callable[[Store], T]) -> T:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = Store(open_read_database(self.path), self.clock)
            self._local.store = store
        return work(store)

    def close(self) -> None:
        """Close the reader's connection and stop its thread (waits for a read under way)."""
        if self._closed:
            return
        self._closed = True
        if not self.inline:
            self._executor.submit(self._close_here).result()
        self._executor.shutdown(wait=True)

    def _close_here(self) -> None:
        store: Any = getattr(self._local, "store", None)
        if store is not None:
            store.db.close()
            self._local.store = None
