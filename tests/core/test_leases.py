"""Named leases and the election over them, as replicas on one database (two connections) see them.

The databases come from the ``replica_databases`` fixture: the same checks run on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from bot.leadership import Leadership
from bot.store import open_database
from bot.store.leases import Leases, as_database
from bot.store.sql import Database
from testing.clock import ManualClock
from testing.polling import eventually

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


@pytest.fixture
def replica_databases(database_url: str) -> Iterator[tuple[Database, Database]]:
    """Two connections to one migrated database, as two replicas hold them."""
    a = as_database(open_database(database_url))
    b = as_database(open_database(database_url))
    yield a, b
    a.close()
    b.close()


def test_one_holder_until_its_lease_lapses_then_another_takes_over(
    replica_databases: tuple[Database, Database],
) -> None:
    clock = ManualClock()
    a = Leases(replica_databases[0], "host-a:1:aa", clock)
    b = Leases(replica_databases[1], "host-b:2:bb", clock)
    assert a.acquire("discord-gateway", ttl=30).held
    lost = b.acquire("discord-gateway", ttl=30)
    assert not lost.held and lost.holder == "host-a:1:aa" and lost.expires_at == 1030.0
    clock.now += 20
    assert a.renew("discord-gateway", ttl=30)  # now until 1050
    clock.now += 25
    assert not b.acquire("discord-gateway", ttl=30).held
    clock.now += 6  # the holder stopped renewing (it died): the lease lapsed at 1050
    won = b.acquire("discord-gateway", ttl=30)
    assert won.held and won.expires_at == clock.now + 30
    assert not a.renew("discord-gateway", ttl=30)  # the old holder finds out on its next renewal
    assert not a.acquire("discord-gateway", ttl=30).held
    current = a.current("discord-gateway")
    assert current is not None and current.holder == "host-b:2:bb" and not current.held


def test_a_released_lease_is_free_at_once_and_names_are_independent(
    replica_databases: tuple[Database, Database],
) -> None:
    clock = ManualClock()
    a = Leases(replica_databases[0], "a", clock)
    b = Leases(replica_databases[1], "b", clock)
    assert a.acquire("discord-gateway:1:0", ttl=30).held
    assert b.acquire("discord-gateway:2:0", ttl=30).held  # another bot token or shard: its own lease
    assert not b.release("discord-gateway:1:0")  # only the holder can release
    assert not b.acquire("discord-gateway:1:0", ttl=30).held
    assert a.release("discord-gateway:1:0")
    assert b.acquire("discord-gateway:1:0", ttl=30).held
    assert b.current("never-taken") is None


def test_two_replicas_racing_for_free_leases_never_both_win(replica_databases: tuple[Database, Database]) -> None:
    rounds = 200
    won: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def race(db: Database, holder: str) -> None:
        leases = Leases(db, holder)
        start.wait()
        for n in range(rounds):
            if leases.acquire(f"job-{n}", ttl=60).held:
                won[holder].append(f"job-{n}")

    threads = [threading.Thread(target=race, args=(db, name)) for db, name in zip(replica_databases, "ab", strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not set(won["a"]) & set(won["b"])
    assert len(won["a"]) + len(won["b"]) == rounds


async def test_a_standby_takes_the_job_over_when_the_holder_stops_renewing(
    replica_databases: tuple[Database, Database],
) -> None:
    running: list[str] = []

    def job(name: str) -> tuple[Leadership, Leases]:
        leases = Leases(replica_databases[0 if name == "a" else 1], name)

        async def elected() -> None:
            running.append(name)

        async def deposed() -> None:
            running.remove(name)

        return Leadership(leases, "gateway", 0.3, elected, deposed), leases

    a, _ = job("a")
    b, _ = job("b")
    assert a.claim() and not b.claim() and b.holder == "a"
    running.append("a")  # the holder started its job itself
    a.start()
    b.start()
    await asyncio.sleep(0)
    # While a renews, b stays standby: a renews three times, each time a full round of b's.
    await eventually(lambda: a.renewals >= 3, "a to renew three times")
    assert running == ["a"] and a.held and not b.held
    # a dies without a word: its task stops renewing, the lease lapses, b takes over.
    assert a._task is not None
    a._task.cancel()
    await eventually(lambda: running == ["a", "b"] and b.held, "b to take over")
    await b.stop()
    b.resign()
    assert not b.held and b.leases.current("gateway") is not None
    assert Leases(replica_databases[0], "c").acquire("gateway", 0.3).held  # released: free at once


async def test_a_holder_that_was_taken_over_stops_its_job(replica_databases: tuple[Database, Database]) -> None:
    clock = ManualClock()
    stopped: list[str] = []
    leases = Leases(replica_databases[0], "a", clock)

    async def nothing() -> None:
        return None

    async def deposed() -> None:
        stopped.append("a")

    a = Leadership(leases, "gateway", 0.3, nothing, deposed)
    assert a.claim()
    clock.now += 1  # a was paused past its lease (a long GC, a frozen VM) and b took over
    assert Leases(replica_databases[1], "b", clock).acquire("gateway", 0.3).held
    a.start()
    await eventually(lambda: stopped == ["a"], "a to stop its job")
    assert not a.held
    await a.stop()
    assert Leases(replica_databases[1], "b", clock).current("gateway") is not None


def test_a_restarted_process_takes_over_the_lease_its_dead_self_held(
    replica_databases: tuple[Database, Database],
) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    dead = f"{socket.gethostname()}:{int(gone.stdout)}:ab12cd"
    assert Leases(replica_databases[0], dead).acquire("gateway", ttl=600).held

    async def nothing() -> None:
        return None

    restarted = Leadership(Leases(replica_databases[1], "me"), "gateway", 600, nothing, nothing)
    assert not restarted.claim()  # an ordinary round waits for the lease to lapse
    assert restarted.claim(dead_local_holders=True)  # at start, a dead local holder's lease is ended


async def test_a_holder_that_cannot_reach_the_database_stops_its_job_before_its_lease_lapses(
    replica_databases: tuple[Database, Database],
) -> None:
    stopped: list[float] = []
    leases = Leases(replica_databases[0], "a")

    async def nothing() -> None:
        return None

    async def deposed() -> None:
        stopped.append(leases.now())

    a = Leadership(leases, "gateway", 3.0, nothing, deposed)
    assert a.claim()
    lapses_at = a._expires_at
    replica_databases[0].close()  # the database is gone for this replica: renewals fail
    a.start()
    await eventually(lambda: stopped, "a to stop its job")
    assert stopped[0] < lapses_at and not a.held  # stopped before another replica could take over
    await a.stop()
