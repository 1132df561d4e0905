"""Outbox workers survive their own store failing (issue 12): a locked database and a full disk.

The finding: with the disk full (or the database locked), ``set_delivery``
raised inside the worker's ``except`` block, the task ended ("Task exception
was never retrieved") and its rows stayed pending after space came back. Here
the platform call itself makes the store fail right before the error path
writes, the failure is logged with its context, and once the store works
again every copy arrives exactly once, in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Agora
from bot.errors import DeliveryError
from bot.events import Author, IncomingMessage, OutgoingMessage
from bot.richtext import plain
from bot.store import DONE
from bot.testing import CollectingAdapter
from testing.polling import eventually
from testing.translator import MarkingTranslator
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness, demo_config
from tests.database import sqlite_connection

BURST = 6
LONG_REASON = "upstream said: " + "x" * 600  # the error path stores up to 500 characters of it


async def burst(h: Harness) -> None:
    await h.command(BOSTON, "/agora mode mirror")
    for i in range(BURST):
        await h.adapter.emit(IncomingMessage(BOSTON, f"b{i}", Author("u1", "Ana"), plain(f"message {i}")))


def exactly_once_in_order(h: Harness) -> None:
    assert h.adapter.texts(GDL) == [f"[es] message {i}" for i in range(BURST)]
    assert h.adapter.texts(RECIFE) == [f"[pt] message {i}" for i in range(BURST)]
    assert h.agora.store.delivery_counts() == {DONE: 2 * BURST}


def fail_first_send_after(h: Harness, before_failing: Callable[[], None]) -> list[int]:
    """GDL's first send, once the burst is stored, runs ``before_failing`` (which breaks the store) and fails."""
    original = h.adapter.send
    calls = [0]

    async def send(msg: OutgoingMessage) -> Any:
        if msg.channel == GDL:
            calls[0] += 1
            if calls[0] == 1:
                # Tagging runs off the loop, so delivery starts while the burst is still arriving: break the
                # store once the whole burst is stored, or the relay (not the outbox) would meet the broken store.
                await eventually(lambda: h.agora.store.message(BURST) is not None, "the burst to be stored")
                before_failing()
                raise DeliveryError(LONG_REASON, retriable=True)
        return await original(msg)

    h.adapter.send = send  # type: ignore[method-assign]
    return calls


def worker_errors(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.outbox" and r.levelno >= logging.ERROR and needle in r.getMessage()
    ]


async def test_a_locked_database_in_the_error_path_is_retried_not_fatal(
    harness: Harness, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    harness.agora.db.execute("PRAGMA busy_timeout = 50")  # so "locked" shows at once instead of after 30 s
    other = sqlite3.connect(tmp_path / "agora.db", isolation_level=None)

    def lock() -> None:
        other.execute("BEGIN IMMEDIATE")

    fail_first_send_after(harness, lock)

    await burst(harness)
    await eventually(
        lambda: bool(worker_errors(caplog, "database is locked")), "the worker to meet the locked database"
    )
    # It is still alive and retrying with back-off while the other process holds the lock.
    errors = worker_errors(caplog, "database is locked")
    assert any(str(GDL) in e and "attempt" in e for e in errors), errors
    other.execute("ROLLBACK")
    other.close()

    await harness.drain()
    exactly_once_in_order(harness)
    assert not [r for r in caplog.records if "died" in r.getMessage()]


def make_db(path: Path, page_size: int = 512) -> None:
    """A database with small pages, so one 500-character error needs a page of its own."""
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA page_size = {page_size}")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()


def fill_database(db: sqlite3.Connection) -> None:
    """Use up every page the database may have: what a full disk looks like to SQLite (SQLITE_FULL)."""
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")
    with contextlib.suppress(sqlite3.OperationalError):
        for _ in range(100_000):
            db.execute("insert into filler (x) values (?)", ["f" * 40])


@pytest.fixture
async def small_pages(tmp_path: Path) -> AsyncIterator[Harness]:
    make_db(tmp_path / "agora.db")
    h = await started(tmp_path / "agora.db")
    yield h
    await h.agora.stop(grace=1)


async def started(db: Path) -> Harness:
    adapter = CollectingAdapter("fake")
    translator = MarkingTranslator()
    agora = Agora(demo_config(db), adapters={"fake": adapter}, translator=translator)
    agora.db.execute("create table filler (x text)")
    await agora.start()
    return Harness(agora, adapter, translator)


async def test_a_full_database_in_the_error_path_is_retried_until_space_returns(
    small_pages: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = small_pages
    fail_first_send_after(h, lambda: fill_database(sqlite_connection(h.agora.db)))

    await burst(h)
    await eventually(lambda: bool(worker_errors(caplog, "full")), "the worker to meet the full database")
    assert any(str(GDL) in e for e in worker_errors(caplog, "full"))
    # Space comes back.
    h.agora.db.execute("PRAGMA max_page_count = 1073741823")
    h.agora.db.execute("delete from filler")

    await h.drain()
    exactly_once_in_order(h)
    assert not [r for r in caplog.records if "died" in r.getMessage()]


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "2m") -> Iterator[Path]:
    path.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (not root, or a container without CAP_SYS_ADMIN): {done.stderr!r}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(directory: Path) -> Path:
    """Write zeros until the file system says ENOSPC."""
    ballast = directory / "ballast"
    with ballast.open("wb", buffering=0) as fh:  # unbuffered: closing a full file has nothing left to flush
        chunk = b"\0" * 65536
        try:
            while True:
                fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            pass
    return ballast


async def test_a_full_disk_in_the_error_path_is_retried_until_space_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        h = await started(disk / "agora.db")
        try:
            ballast: list[Path] = []
            fail_first_send_after(h, lambda: ballast.append(fill_disk(disk)))
            await burst(h)
            await eventually(lambda: bool(worker_errors(caplog, "full")), "the worker to meet the full disk")
            ballast[0].unlink()  # space comes back
            await h.drain()
            exactly_once_in_order(h)
            assert not [r for r in caplog.records if "died" in r.getMessage()]
        finally:
            await h.agora.stop(grace=1)


async def test_a_worker_that_ends_is_restarted_by_the_supervisor(make_harness: Callable[..., Any]) -> None:
    h: Harness = await make_harness()
    try:
        h.adapter.pace = 0.05
        await burst(h)
        task = h.agora.outbox._workers.get(GDL)
        assert task is not None
        task.cancel()  # what an unexpected end looks like from outside
        await h.drain()
        exactly_once_in_order(h)
    finally:
        await h.agora.stop(grace=1)
