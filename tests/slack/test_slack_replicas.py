"""Slack Socket Mode on every replica: Slack (the fake, as Slack does) spreads envelopes over the
open connections, re-sends what a lost connection never acknowledged to another one, and the
replicas' shared database keeps each event to one relay.

The replicas here are two real adapters on one database; ``tests/e2e/test_replicas.py`` runs
them as separate ``agora run`` processes and SIGKILLs one.
"""

from __future__ import annotations

import asyncio

import aiohttp
import sqlite_utils

from bot.events import Event, IncomingMessage
from bot.richtext import to_plain
from testing.polling import eventually
from testing.slack_server import FakeSlack
from tests.slack.conftest import BOSTON, AdapterFactory, Sink


def relayed(*sinks: Sink) -> list[str]:
    return sorted(to_plain(e.text) for sink in sinks for e in sink.of(IncomingMessage))


async def test_events_are_spread_over_both_replicas_and_each_reaches_the_core_once(
    fake: FakeSlack, make_adapter: AdapterFactory, db: sqlite_utils.Database
) -> None:
    _, a = await make_adapter()
    _, b = await make_adapter()
    assert fake.open_sockets == [1, 2]
    sent = [f"M{n:02d} how do you plow bike lanes?" for n in range(12)]
    for text in sent:
        await fake.user_posts(BOSTON, "U0ANA", text)
    await eventually(lambda: len(relayed(a, b)) >= len(sent), "every message relayed")
    assert relayed(a, b) == sorted(sent)  # none twice
    assert a.of(IncomingMessage) and b.of(IncomingMessage)  # both replicas took a share
    assert sorted(fake.acks_by_connection) == [1, 2]
    # Each event's key is in the shared database, where a retry reaching either replica finds it.
    assert db.execute("select count(*) from slack_events where key like 'ev:%'").fetchone()[0] == len(sent)


async def test_a_connection_that_dies_silently_costs_a_retry_not_an_event(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    fake.ack_timeout = 0.3
    _, alive = await make_adapter()
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.url.replace("http", "ws") + "/link") as dead:
        # ``dead`` is a replica frozen or killed before its socket closed: it takes envelopes, acks none.
        assert fake.open_sockets == [1, 2]
        sent = [f"M{n:02d} who funds the shelters?" for n in range(6)]
        for text in sent:
            await fake.user_posts(BOSTON, "U0ANA", text)
        await eventually(lambda: len(relayed(alive)) >= len(sent), "every message through the live replica")
        assert relayed(alive) == sorted(sent)
        assert fake.event_retries >= len(sent) // 2 - 1  # those that went to the dead connection came again
        assert set(fake.acks_by_connection) == {1}
        await dead.close()
    await eventually(lambda: fake.open_sockets == [1], "the fake to notice the closed connection")
    await fake.user_posts(BOSTON, "U0ANA", "after the loss")
    await eventually(lambda: "after the loss" in relayed(alive), "events to keep flowing")
    assert fake.events_unacknowledged == 0


async def test_events_a_replica_acknowledged_but_never_relayed_are_finished_by_another(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    stuck, a = await make_adapter(inbox_stale_seconds=1)
    never = asyncio.Event()

    async def frozen(_event: Event) -> None:
        await never.wait()  # a's core never returns: a replica frozen, then gone, after acknowledging

    a.hook = frozen
    _, b = await make_adapter(inbox_stale_seconds=1)
    sent = [f"M{n:02d} who pays for snow removal?" for n in range(6)]
    for text in sent:
        await fake.user_posts(BOSTON, "U0ANA", text)
    assert fake.event_retries == 0  # every envelope was acknowledged at once, a's too
    await eventually(lambda: a.events, "a to take an event")
    await stuck.stop()  # what a held is gone with it; Slack will not send it again
    await eventually(lambda: len(relayed(b)) >= len(sent), "b to finish what a acknowledged")
    assert relayed(b) == sorted(sent)
