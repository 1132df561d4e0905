"""Takeover between replicas: real ``agora run`` processes on one database, one SIGKILLed.

- Discord: a bot token holds one gateway session, so one replica holds it (elected by the
  ``discord-gateway`` lease) and the other stands by, delivering over REST. When the holder is
  killed, its lease lapses and the standby connects, catches up the message posted in between,
  and relays every message exactly once.
- Slack: both replicas hold a Socket Mode connection and Slack spreads events among them. When
  one is killed, events keep flowing through the other (what the dead one never acknowledged
  comes again), each relayed exactly once.

The database comes from the ``database_url`` fixture, so the same tests run on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from testing.replicas import SLACK_CHANNELS, Cluster

LEASE = 3.0  # adapters.discord.gateway_lease: a standby takes over within LEASE + LEASE / 3 of the last renewal
OTTAWA = SLACK_CHANNELS[0][0]


@pytest.fixture
async def cluster(tmp_path: Path, database_url: str) -> AsyncIterator[Cluster]:
    async with Cluster(tmp_path, database_url, gateway_lease=LEASE) as c:
        yield c


def once_everywhere_but(cluster: Cluster, token: int, source: str) -> bool:
    return cluster.copies_of(token) == {ref: 1 for ref in cluster.refs() if ref != source}


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
    before, after = range(12), range(12, 36)
    for token in before:
        await cluster.post_slack(OTTAWA, token)
    await cluster.until(lambda: all(cluster.relayed_everywhere(t, source) for t in before), "the first burst")
    shares = dict(cluster.slack.acks_by_connection)
    assert len(shares) == 2, shares  # Slack spread the events over both replicas

    cluster.kill(b)
    retries = cluster.slack.event_retries
    for token in after:
        await cluster.post_slack(OTTAWA, token)
    survivor = cluster.replicas[0]
    await cluster.until(lambda: all(cluster.relayed_everywhere(t, source) for t in after), "every later message")
    await cluster.until(lambda: cluster.settled(survivor), "the outbox to settle")
    for token in [*before, *after]:
        assert once_everywhere_but(cluster, token, source), (token, cluster.copies_of(token))
    assert cluster.duplicates() == {}
    assert cluster.slack.events_unacknowledged == 0
    print(
        "slack, one of two replicas killed:",
        json.dumps(
            {
                "messages": len(before) + len(after),
                "acks_by_connection_before_kill": shares,
                "retries_after_kill": cluster.slack.event_retries - retries,
                "copies": sum(sum(c.values()) for c in cluster.posts().values()),
            }
        ),
    )
