"""Replicas on one database: one holds the gateway (elected by lease), the others deliver over REST.

Two real adapters share the test's database as two replicas share theirs; each has its own
process identity, so they contend for the ``discord-gateway`` lease like separate processes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlite_utils

from adapters.discord import DiscordAdapter
from bot.events import IncomingMessage, OutgoingMessage
from bot.richtext import plain, to_plain
from bot.supervision import CONNECTED, STANDBY
from testing.polling import eventually
from tests.discord.conftest import World

Connect = Callable[..., Any]
LEASE = 1.0  # seconds: a standby takes over within about 1.3 s of the holder's last renewal


def live_sessions(world: World) -> int:
    """Gateway sessions whose websocket is open (what Discord would count against the token)."""
    return sum(1 for s in world.fake.sessions.values() if s.ws is not None and not s.ws.closed)


def state(adapter: DiscordAdapter) -> str:
    status = adapter.context.connections.supervisor("discord").status
    return status.state if status else ""


def texts(events: list[Any]) -> list[str]:
    return [to_plain(e.text) for e in events if isinstance(e, IncomingMessage)]


async def test_one_replica_holds_the_gateway_and_the_standby_still_delivers(world: World, connect: Connect) -> None:
    holder, _ = await connect(gateway_lease=LEASE)
    standby, standby_sink = await connect(gateway_lease=LEASE)
    assert state(holder) == CONNECTED and state(standby) == STANDBY
    assert len(world.fake.identifies) == 1 and live_sessions(world) == 1
    # The standby posts through webhooks, and opens question threads, with no gateway session of its own.
    question = OutgoingMessage(
        world.ref(world.lima), plain("¿cómo contamos?"), "agora-9-0", starts_thread=True, thread_title="¿cómo?"
    )
    ref = await standby.send(question)
    posted = [r for r in world.fake.records[str(world.lima)] if r["op"] == "post"]
    assert [r["message_id"] for r in posted] == [ref.id] and ref.thread_id == ref.id
    assert [r["op"] for r in world.fake.records[str(world.lima)]] == ["post", "thread"]
    assert await standby.find_sent(question) == ref  # reconciling by nonce needs no gateway either
    # Its election keeps it standby while the holder renews (three renewals, each a round of the standby's).
    assert holder._leadership is not None
    await eventually(lambda: holder._leadership is not None and holder._leadership.renewals >= 3, "three renewals")
    assert state(standby) == STANDBY and live_sessions(world) == 1 and not standby_sink.events


async def test_a_clean_stop_hands_the_gateway_to_the_standby_which_catches_up(world: World, connect: Connect) -> None:
    holder, _ = await connect(gateway_lease=LEASE)
    standby, sink = await connect(gateway_lease=LEASE)
    await holder.stop()  # releases the lease
    await world.fake.user_message(world.boston, world.ana, "posted while nobody listened")
    await eventually(lambda: state(standby) == CONNECTED, "the standby to take the gateway over")
    assert len(world.fake.identifies) == 2 and live_sessions(world) == 1
    await world.fake.user_message(world.boston, world.ana, "posted after the takeover")
    await eventually(lambda: len(texts(sink.events)) == 2, "both messages through the new holder")
    assert texts(sink.events) == ["posted while nobody listened", "posted after the takeover"]


async def test_a_holder_whose_lease_was_taken_closes_its_gateway(
    world: World, connect: Connect, db: sqlite_utils.Database
) -> None:
    holder, sink = await connect(gateway_lease=LEASE)
    assert live_sessions(world) == 1
    # Another replica holds the lease now (this one was frozen past its expiry, say).
    db.execute("update leases set holder = 'elsewhere:1:aa', expires_at = expires_at + 3600")
    await eventually(lambda: state(holder) == STANDBY and live_sessions(world) == 0, "the holder to stand down")
    await world.fake.user_message(world.boston, world.ana, "for the other replica")
    # It still delivers, and relays nothing itself.
    await holder.send(OutgoingMessage(world.ref(world.boston), plain("still posting"), "agora-7-0"))
    assert [r["content"] for r in world.fake.records[str(world.boston)] if r["op"] == "post"][-1] == "still posting"
    assert texts(sink.events) == []


async def test_the_holder_knows_posts_through_a_webhook_the_standby_made_as_agoras_own(
    world: World, connect: Connect
) -> None:
    _, sink = await connect(gateway_lease=LEASE)
    standby, _ = await connect(gateway_lease=LEASE)
    # The standby posts first in Lima: it makes the webhook, which the holder never saw made.
    await standby.send(OutgoingMessage(world.ref(world.lima), plain("una copia"), "agora-5-0"))
    await world.fake.user_message(world.lima, world.bob, "a person, after the copy")
    await eventually(lambda: texts(sink.events), "the person's message through the holder's gateway")
    assert texts(sink.events) == ["a person, after the copy"]  # the copy did not come back in as a message
