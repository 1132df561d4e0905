"""Takeover between replicas: real ``agora run`` processes on one database, one SIGKILLed.

- Discord: a bot token holds one gateway session, so one replica holds it (elected by the
  ``discord-gateway`` lease) and the other stands by, delivering over REST. When the holder is
  killed, its lease lapses and the standby connects, catches up the message posted in between,
  and relays every message exactly once.
- Slack: both replicas hold a Socket Mode connection and Slack spreads events among them. When
  one is killed mid-burst, events keep flowing through the other: what the dead one never
  acknowledged Slack sends again, what it acknowledged but never stored the survivor finishes
  from the inbox; each message is relayed exactly once.

The database comes from the ``database_url`` fixture, so the same tests run on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from testing.replicas import SLACK_CHANNELS, Cluster

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

LEASE = 3.0  # adapters.discord.gateway_lease: a standby takes over within LEASE + LEASE / 3 of the last renewal
OTTAWA = SLACK_CHANNELS[0][0]


@pytest.fixture
async def cluster(tmp_path: Path, database_url: str) -> AsyncIterator[Cluster]:
    async with Cluster(tmp_path, database_url, gateway_lease=LEASE) as c:
        yield c


def once_everywhere_but(cluster: Cluster, token: int, source: str) -> bool:
    return cluster.copies_of(token) == {ref: 1 for ref in cluster.network_of(source) if ref != source}


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_the_standby_takes_the_discord_gateway_over_when_its_holder_is_killed(cluster: Cluster) -> None:
    a = await cluster.launch()
    await cluster.until(lambda: cluster.holds_gateway(a), "the first replica to hold the gateway")
    b = await cluster.launch()
    assert not await cluster.holds_gateway(b)  # ready, and on standby
    assert cluster.live_gateway_sessions() == 1 and len(cluster.discord.identifies) == 1
    source = cluster.source_ref("discord", "boston")
    await cluster.post_discord("boston", 1)
    await cluster.until(lambda: cluster.relayed_everywhere(1, source), "a message relayed by the holder")

    cluster.kill(a)
    killed_at = cluster.now()
    await cluster.post_discord("boston", 2)  # nobody holds the gateway: only catch-up can find it
    await cluster.until(lambda: cluster.holds_gateway(b), "the standby to take the gateway over", LEASE * 3 + 30)
    takeover = cluster.now() - killed_at
    await cluster.post_discord("boston", 3)  # live, through the new holder's session
    await cluster.until(
        lambda: cluster.relayed_everywhere(2, source) and cluster.relayed_everywhere(3, source),
        "the messages posted after the kill",
    )
    await cluster.until(lambda: cluster.settled(b), "the outbox to settle")
    for token in (1, 2, 3):
        assert once_everywhere_but(cluster, token, source), (token, cluster.copies_of(token))
    assert cluster.live_gateway_sessions() == 1 and len(cluster.discord.identifies) == 2
    log = b.log_text()
    assert "took over the gateway" in log and "Traceback" not in log, log[-3000:]
    print("discord takeover:", json.dumps({"lease_seconds": LEASE, "takeover_seconds": round(takeover, 1)}))


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_slack_events_keep_flowing_when_one_of_two_connected_replicas_is_killed(cluster: Cluster) -> None:
    await cluster.launch()
    b = await cluster.launch()
    await cluster.until(lambda: len(cluster.slack.open_sockets) == 2, "both replicas connected to Slack")
    source = cluster.source_ref("slack", OTTAWA)
    messages, streams = 80, 4
    posted: list[int] = []

    async def stream(tokens: range) -> None:  # people posting in turn, each waiting for Slack's answer
        for token in tokens:
            await cluster.post_slack(OTTAWA, token)
            posted.append(token)

    burst = [asyncio.create_task(stream(range(k, messages, streams))) for k in range(streams)]
    await cluster.until(lambda: len(posted) >= messages // 3, "a third of the burst")
    shares = dict(cluster.slack.acks_by_connection)
    cluster.kill(b)  # mid-burst: it holds acknowledged events it never stored, and envelopes in flight
    at_kill = len(posted)
    await asyncio.gather(*burst)
    survivor = cluster.replicas[0]
    await cluster.until(
        lambda: all(cluster.relayed_everywhere(t, source) for t in range(messages)), "every message relayed", 120
    )
    await cluster.until(lambda: cluster.settled(survivor), "the outbox to settle")
    for token in range(messages):
        assert once_everywhere_but(cluster, token, source), (token, cluster.copies_of(token))
    # In order per channel: every destination received the copies in one and the same order, the order in
    # which the core stored the originals (two replicas store concurrent events in their commit order).
    sequences = cluster.sequences()
    orders = {ref: sequences[ref] for ref in cluster.network_of(source) if ref != source}
    assert len({tuple(tokens) for tokens in orders.values()}) == 1, orders
    assert len(shares) == 2, shares  # Slack spread the events over both replicas before the kill
    assert cluster.duplicates() == {} and cluster.slack.events_unacknowledged == 0
    print(
        "slack, one of two replicas killed mid-burst:",
        json.dumps(
            {
                "messages": messages,
                "posted_before_kill": at_kill,
                "acks_by_connection_before_kill": shares,
                "retries": cluster.slack.event_retries,
                "inbox_takeovers_logged": survivor.log_text().count("another replica acknowledged"),
                "copies": sum(sum(c.values()) for c in cluster.posts().values()),
            }
        ),
    )
