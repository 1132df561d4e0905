"""The weekly digest's text is computed by the reads thread, on its own read-only connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from bot.digest import next_slot
from testing.polling import eventually
from tests.core.conftest import BOSTON, RECIFE, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


async def test_digest_text_is_built_off_the_loop_and_queued_once(make_harness: Callable[..., Any]) -> None:
    h: Harness = await make_harness()
    assert not h.agora.reads.inline  # a file database: reads go to the worker thread
    await h.command(RECIFE, "/agora digest on")
    await h.command(BOSTON, "/ask Has anyone written staff guidance for generative AI?")
    await h.drain()
    now = h.agora.store.now()
    assert await h.agora.digests.run_due_off_loop() == 0  # first run only schedules
    due = next_slot(now, 0, 14)
    h.agora.digests.clock = lambda: due + 60
    gate = threading.Event()
    blocker = asyncio.create_task(h.agora.reads.run(lambda _store: gate.wait(20)))
    digest = asyncio.create_task(h.agora.digests.run_due_off_loop())
    try:
        await eventually(lambda: h.agora.reads.queued == 2, "the digest to wait on the reads thread")
        assert not digest.done()  # its text is being computed there, not on the loop
    finally:
        gate.set()
    assert await digest == 1 and await blocker
    assert await h.agora.digests.run_due_off_loop() == 0
    await h.drain()
    posted = h.adapter.posts[RECIFE][-1]
    assert posted.text.startswith("Resumo semanal") and "generative AI" in posted.text
    await h.agora.stop(grace=1)


def test_the_reader_cannot_write(database_url: str) -> None:
    from bot.store import open_database, open_read_database

    open_database(database_url).close()
    reader = open_read_database(database_url)
    try:
        reader.execute("insert into networks (name, join_code, created_at) values ('x', 'y', 0)")
    except Exception as exc:
        assert "readonly" in str(exc).lower() or "read-only" in str(exc).lower() or "query_only" in str(exc)
    else:
        raise AssertionError("the read-only connection wrote")
