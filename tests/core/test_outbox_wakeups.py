"""Replicas on one PostgreSQL database wake each other: a copy queued by one replica for a channel
another replica holds is sent by the holder as the row commits, not at its next poll.

The replicas poll every 30 s here, so a copy delivered within 10 s was delivered by a wake-up
(a behaviour check with a wide margin, not a timing benchmark).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest

from bot.app import Agora
from bot.config import parse_config
from bot.errors import DeliveryError
from bot.events import Author, ChannelRef, IncomingMessage
from bot.richtext import plain
from bot.store import DONE, Store, open_database
from bot.store.claims import ChannelLease
from bot.store.postgres import LISTENER_NAME, OutboxNotices, PostgresDatabase
from bot.store.sql import scalar
from bot.store.wakeups import outbox_wakeups
from bot.testing import CollectingAdapter
from testing.polling import eventually
from testing.translator import MarkingTranslator
from tests.core.conftest import BOSTON, GDL, RECIFE

POLL_SECONDS = 30.0
WITHIN = 10.0  # well below POLL_SECONDS: only a wake-up delivers this soon


def replica(database: str, tmp_path: Path, adapter: CollectingAdapter) -> Agora:
    raw = {
        "agora": {"database": database},
        "outbox": {"backoff_base": 0.01, "backoff_max": 0.05, "poll_seconds": POLL_SECONDS},
        "networks": [
            {
                "name": "demo",
                "channels": [
                    {"ref": str(BOSTON), "city": "Boston", "lang": "en", "mode": "mirror"},
                    {"ref": str(GDL), "city": "Guadalajara", "lang": "es"},
                    {"ref": str(RECIFE), "city": "Recife", "lang": "pt"},
                ],
            }
        ],
    }
    config = parse_config(raw, base=tmp_path, path=tmp_path / "config.toml")
    return Agora(config, adapters={"fake": adapter}, translator=MarkingTranslator())


class Platform(CollectingAdapter):
    """One fake platform as two replicas see it: what either posted, both find."""

    def __init__(self, shared: CollectingAdapter | None = None) -> None:
        super().__init__("fake")
        if shared is not None:
            self.posts, self.by_id = shared.posts, shared.by_id


@pytest.fixture
async def replicas(postgres_url: str, tmp_path: Path) -> AsyncIterator[tuple[Agora, Agora]]:
    first_platform = Platform()
    first = replica(postgres_url, tmp_path, first_platform)
    second = replica(postgres_url, tmp_path, Platform(first_platform))
    await first.start()
    await second.start()
    yield first, second
    for agora in (first, second):
        if agora.started:
            await agora.stop(grace=1)


def holder(store: Store, channel: ChannelRef) -> str | None:
    owner: str | None = scalar(
        store.db, "select owner from channel_leases where channel = ? and expires_at > 0", [str(channel)]
    )
    return owner


def delivered(store: Store, message_id: int) -> bool:
    rows = [row for _, rows in store.deliveries_of(message_id) for row in rows]
    return bool(rows) and all(row.state == DONE for row in rows)


async def relay(agora: Agora, channel: ChannelRef, platform_id: str, text: str) -> int:
    adapter = agora.adapters["fake"]
    assert isinstance(adapter, CollectingAdapter)
    await adapter.emit(IncomingMessage(channel, platform_id, Author("u1", "Ana"), plain(text)))
    found = agora.store.original_at(channel, platform_id)
    assert found is not None
    return found.id


async def hold_gdl(first: Agora, second: Agora) -> tuple[Agora, Agora]:
    """A message relayed, so one replica's worker holds GDL's lease (idle, polling): (holder, the other)."""
    warmup = await relay(second, BOSTON, "m0", "warming up")
    await eventually(lambda: delivered(second.store, warmup), "the replicas to deliver a first message")
    owner = holder(first.store, GDL)
    assert owner in (first.outbox.claims.owner, second.outbox.claims.owner)
    return (first, second) if owner == first.outbox.claims.owner else (second, first)


async def test_a_copy_queued_by_one_replica_is_sent_at_once_by_the_replica_holding_the_channel(
    replicas: tuple[Agora, Agora],
) -> None:
    holding, other = await hold_gdl(*replicas)
    message = await relay(other, BOSTON, "m1", "Who runs a shelter?")  # queued by the replica not holding GDL
    await eventually(lambda: delivered(other.store, message), "the holder to deliver the copies", WITHIN)
    assert holder(other.store, GDL) == holding.outbox.claims.owner  # it was the holder that sent it
    platform = other.adapters["fake"]
    assert isinstance(platform, CollectingAdapter) and len(platform.posts[GDL]) == 2


async def test_a_replica_stopping_with_work_in_a_channel_hands_it_over_at_once(replicas: tuple[Agora, Agora]) -> None:
    holding, other = await hold_gdl(*replicas)
    platform = holding.adapters["fake"]
    assert isinstance(platform, CollectingAdapter)
    platform.fail_next(GDL, DeliveryError("busy", retriable=True, retry_after=1.0))
    message = await relay(other, BOSTON, "m1", "Who runs a shelter?")  # the other replica sees GDL held
    await eventually(lambda: retried(other.store, GDL), "the holder to fail once and retry later")
    await holding.stop(grace=1)  # gives GDL's lease up with the copy still to send
    await eventually(lambda: delivered(other.store, message), "the other replica to take GDL over", WITHIN)
    assert holder(other.store, GDL) == other.outbox.claims.owner


def retried(store: Store, channel: ChannelRef) -> bool:
    return any(row.attempts == 1 for row in [store.next_delivery(channel)] if row is not None)


async def test_a_replica_that_saw_another_hold_the_channel_is_not_woken_by_its_notices(
    replicas: tuple[Agora, Agora],
) -> None:
    holding, other = await hold_gdl(*replicas)
    first = await relay(other, BOSTON, "m1", "Who runs a shelter?")  # the other replica tries GDL and finds it held
    await eventually(lambda: GDL in other.outbox._other_until, "the other replica to see GDL held")
    await eventually(partial(delivered, holding.store, first), "the holder to deliver it", WITHIN)
    await eventually(lambda: GDL not in other.outbox._workers, "its GDL worker to leave GDL to the holder")
    asked: list[ChannelRef] = []
    hold_channel = other.outbox.claims.hold_channel

    def counted(channel: ChannelRef, ttl: float) -> ChannelLease:
        asked.append(channel)
        return hold_channel(channel, ttl)

    other.outbox.claims.hold_channel = counted  # type: ignore[method-assign]
    other.outbox._wake_all()  # as after its listening connection (re)connects: missed notices change no holder
    for n in range(3):  # the holder queues copies itself; its notices reach the other replica
        message = await relay(holding, BOSTON, f"h{n}", f"Shelters, part {n}")
        await eventually(partial(delivered, holding.store, message), "the holder to deliver", WITHIN)
    assert GDL not in asked


async def test_a_replica_whose_listening_connection_dropped_listens_again(
    replicas: tuple[Agora, Agora], postgres_url: str
) -> None:
    holding, other = await hold_gdl(*replicas)
    listener = holding.outbox.wakeups
    assert isinstance(listener, OutboxNotices)
    dropped = await eventually(lambda: listener.backend_pid, "the holder to listen")
    admin = open_database(postgres_url)
    assert scalar(admin, "select pg_terminate_backend(?)", [dropped]) is True
    await eventually(lambda: listener.backend_pid not in (None, dropped), "it to listen again", WITHIN)
    names = scalar(admin, "select application_name from pg_stat_activity where pid = ?", [listener.backend_pid])
    assert names == LISTENER_NAME
    admin.close()
    message = await relay(other, BOSTON, "m1", "Who runs a shelter?")
    await eventually(lambda: delivered(other.store, message), "the holder to deliver the copies", WITHIN)


def test_sqlite_has_no_wake_ups_between_processes_so_they_poll(tmp_path: Path, postgres_url: str) -> None:
    sqlite = open_database(tmp_path / "agora.db")
    assert outbox_wakeups(sqlite) is None
    sqlite.close()
    postgres = open_database(postgres_url)
    assert isinstance(postgres, PostgresDatabase)
    assert isinstance(outbox_wakeups(postgres), OutboxNotices)
    postgres.close()
