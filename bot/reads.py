"""Heavy reads (reports, digests, search) run off the event loop.

A report or a search over a long history must not hold up relays, Slack
acknowledgements or Discord heartbeats. SQLite in WAL mode lets a second,
read-only connection read a consistent snapshot while the main connection
writes, so these reads run in one worker thread on a connection of their own.
One thread bounds the memory and CPU they can take: reads queue behind each
other, never in front of the loop.

An in-memory database cannot be opened twice, so there (tests, throwaway runs)
reads run inline on the main store.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.store import BUSY_TIMEOUT_MS, Store

T = TypeVar("T")


class Reads:
    """Runs read-only work against the database, off the loop when the database is a file."""

    def __init__(self, store: Store, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.path = str(path)
        self.clock = clock
        self.inline = self.path == ":memory:"
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
            store = Store(Database(open_read_only(self.path)), self.clock)
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


def open_read_only(path: str) -> sqlite3.Connection:
    """A connection that can only read: ``mode=ro`` plus ``query_only``, waiting out writers' checkpoints."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA query_only=ON")
    return conn
