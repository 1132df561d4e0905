"""Leases and row claims on one database, as two processes (two connections) see them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.events import ChannelRef
from bot.store import PENDING, SEND, SENDING, Store, open_database
from bot.store.claims import Claims, process_owner
from testing.clock import ManualClock
from testing.polling import eventually, wait_until
from tests.core.conftest import BOSTON, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

CH = ChannelRef("fake", "s", "gdl")


def two_processes(database: str) -> tuple[Store, Claims, Claims, ManualClock]:
    clock = ManualClock()
    a = open_database(database)
    b = open_database(database)
    store = Store(a, clock)
    return store, Claims(a, "host-a:1:aa", clock), Claims(b, "host-b:2:bb", clock), clock


def pending_row(store: Store) -> int:
    store.create_network("demo")
    with store.transaction():
        mid = store.db.execute(
            "insert into messages (network, channel, kind, text, lang, version, created_at, deleted) "
            "values ('demo', 'fake:s/boston', 'question', '[]', 'en', 1, 0, 0) returning id"
        ).fetchone()[0]
        copy_id = store.add_copy(int(mid or 0), CH, "es")
        return store.enqueue(CH, copy_id, SEND)


def test_one_sender_per_channel_until_its_lease_lapses(database_url: str) -> None:
    _, a, b, clock = two_processes(database_url)
    assert a.hold_channel(CH, ttl=30).held
    lease = b.hold_channel(CH, ttl=30)
    assert not lease.held and lease.owner == "host-a:1:aa" and lease.expires_at == 1030.0
    clock.now += 20
    assert a.hold_channel(CH, ttl=30).held  # renewed by its holder
    clock.now += 20
    assert not b.hold_channel(CH, ttl=30).held
    clock.now += 11  # the holder stopped renewing (it died): the lease lapses
    assert b.hold_channel(CH, ttl=30).held
    assert not a.hold_channel(CH, ttl=30).held  # and the old holder finds out before its next post


def test_a_released_channel_is_free_at_once_and_keeps_the_last_post_time(database_url: str) -> None:
    _, a, b, _ = two_processes(database_url)
    assert a.hold_channel(CH, ttl=30).held
    a.release_channel(CH, last_post_at=999.5)
    lease = b.hold_channel(CH, ttl=30)
    assert lease.held and lease.last_post_at == 999.5  # pacing carries over to the next sender


def test_a_row_is_claimed_by_one_owner_and_taken_over_only_after_its_lease(database_url: str) -> None:
    store, a, b, clock = two_processes(database_url)
    row = pending_row(store)
    assert a.claim_delivery(row, ttl=30)
    assert not b.claim_delivery(row, ttl=30)
    state = store.next_delivery(CH)
    assert state is not None and state.state == SENDING
    clock.now += 31
    assert b.claim_delivery(row, ttl=30)  # still "sending": the new owner looks for the post by nonce first
    store.set_delivery(row, PENDING, next_at=0)
    assert a.claim_delivery(row, ttl=30)  # a finished attempt releases the claim


def test_the_leases_of_a_dead_process_on_this_host_end_at_once(database_url: str) -> None:
    store, a, _, _ = two_processes(database_url)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = Claims(store.db, f"{process_owner().rsplit(':', 2)[0]}:{int(gone.stdout)}:cc", store.now)
    assert dead.hold_channel(CH, ttl=3600).held
    assert not a.hold_channel(CH, ttl=30).held
    assert a.expire_dead_local_owners() == [dead.owner]
    assert a.hold_channel(CH, ttl=30).held
    # A live process (this one) or one on another host is never declared dead.
    alive = Claims(store.db, process_owner(), store.now)
    other_host = Claims(store.db, "elsewhere:1:dd", store.now)
    assert alive.hold_channel(ChannelRef("fake", "s", "x"), ttl=3600).held
    assert other_host.hold_channel(ChannelRef("fake", "s", "y"), ttl=3600).held
    assert a.expire_dead_local_owners() == []


def test_event_keys_are_deduplicated_by_the_database_and_pruned(database_url: str) -> None:
    store, _, _, clock = two_processes(database_url)
    other = Store(open_database(database_url), clock)
    assert not store.seen_event("discord:1")
    assert other.seen_event("discord:1")  # another process sees the same key as a redelivery
    clock.now += 8 * 86400
    assert not store.seen_event("discord:2")
    assert store.prune_events(clock.now - 7 * 86400) == 1
    third = open_database(database_url)  # what a process opening the database now finds
    try:
        assert third.execute("select key from events").fetchall() == [("discord:2",)]
    finally:
        third.close()


async def test_two_processes_queue_a_due_digest_once(make_harness: Callable[..., Any]) -> None:
    first: Harness = await make_harness()
    second: Harness = await make_harness()  # a second Agora on the same database file
    try:
        await first.command(BOSTON, "/agora digest on")
        first.agora.store.set_digest_next(BOSTON, first.agora.store.now() - 1)
        queued = first.agora.digests.run_due() + second.agora.digests.run_due()
        assert queued == 1
        notices = [m for m in first.agora.store.messages_since("demo", 0) if m.kind == "notice"]
        assert len(notices) == 1
    finally:
        await first.agora.stop(grace=1)
        await second.agora.stop(grace=1)


async def test_the_supervisor_prunes_event_keys_older_than_a_week(make_harness: Callable[..., Any]) -> None:
    first: Harness = await make_harness()
    now = first.agora.store.now()
    with first.agora.store.transaction():
        first.agora.db.execute("insert into events (key, seen_at) values ('old', ?)", [now - 8 * 86400])
        first.agora.db.execute("insert into events (key, seen_at) values ('new', ?)", [now])
    second: Harness = await make_harness()  # its supervisor prunes when it starts
    try:

        def keys() -> list[str]:
            return [r["key"] for r in second.agora.db.query("select key from events order by key")]

        await eventually(lambda: keys() == ["new"], "the old event key to be pruned")
    finally:
        await first.agora.stop(grace=1)
        await second.agora.stop(grace=1)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_racing_claims_on_postgresql_wait_for_each_other_and_one_wins(database_url: str) -> None:
    """Under READ COMMITTED the second conditional UPDATE waits for the first claimer's commit and
    re-checks its condition on the committed row: no two owners, without SERIALIZABLE."""
    store, a, b, _ = two_processes(database_url)
    row = pending_row(store)
    with ThreadPoolExecutor(1) as pool:
        with a.db.transaction():
            assert a.claim_delivery(row, ttl=30)
            racing = pool.submit(b.claim_delivery, row, 30)
            wait_until(lambda: waiting_for_a_lock(store), "the second claim to wait for the first")
        assert racing.result(timeout=30) is False


def waiting_for_a_lock(store: Store) -> bool:
    return bool(
        store.db.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
        ).fetchone()[0]
    )
