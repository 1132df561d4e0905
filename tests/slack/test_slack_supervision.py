"""Never deaf on Slack: the real slack-bolt Socket Mode client against the fake, through outages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

import pytest

from adapters.slack import SlackAdapter
from bot.events import IncomingMessage
from bot.richtext import to_plain
from bot.supervision import CONNECTED, Connections, SupervisionPolicy
from testing.slack_server import FakeSlack
from tests.slack.conftest import BOSTON, AdapterFactory

FAST = SupervisionPolicy(grace=0.0, backoff_base=0.05, backoff_max=0.2, give_up_after=0.0)


def watched(adapter: SlackAdapter, connections: Connections) -> None:
    """Point the adapter at a registry with fast backoff and a watcher that looks often."""
    adapter.watch.supervisor = connections.supervisor("slack")
    adapter.watch.check_every = 0.02
    adapter.watch.sdk_grace = 0.3


@pytest.fixture
async def started() -> AsyncIterator[list[SlackAdapter]]:
    """Adapters a test started itself (after pointing them at its registry), stopped at the end."""
    adapters: list[SlackAdapter] = []
    yield adapters
    for adapter in adapters:
        await adapter.stop()


def texts(events: Sequence[object]) -> list[str]:
    return [to_plain(e.text) for e in events if isinstance(e, IncomingMessage)]


async def test_a_refused_reconnection_is_retried_with_backoff_then_the_gap_is_caught_up(
    fake: FakeSlack, make_adapter: AdapterFactory, started: list[SlackAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    connections = Connections(FAST)
    adapter, sink = await make_adapter(start=False)
    watched(adapter, connections)
    await adapter.start(sink)
    started.append(adapter)
    assert connections.snapshot()[0].state == CONNECTED

    fake.fail("apps.connections.open", "error", times=4, error="invalid_auth")  # Slack refuses for a while
    with caplog.at_level(logging.ERROR, logger="bot.supervision"):
        await fake.drop_socket()
        await fake.wait_for(lambda: not connections.healthy())
        await fake.user_posts(BOSTON, "U0ANA", "posted while Agora was deaf", deliver=False)
        await fake.wait_for(lambda: connections.healthy(), timeout=15)
    assert any("reconnect attempt" in r.getMessage() and r.exc_info for r in caplog.records)

    await sink.wait(1, timeout=10)
    await fake.user_posts(BOSTON, "U0ANA", "after")
    await sink.wait(2)
    assert texts(sink.events) == ["posted while Agora was deaf", "after"]
    (status,) = connections.snapshot()
    assert status.state == CONNECTED and status.reconnects == 1
    assert "invalid_auth" in status.last_error


async def test_a_routine_refresh_is_left_to_slack_sdk(
    fake: FakeSlack, make_adapter: AdapterFactory, started: list[SlackAdapter]
) -> None:
    connections = Connections(FAST)
    adapter, sink = await make_adapter(start=False)
    watched(adapter, connections)
    adapter.watch.sdk_grace = 30.0  # slack_sdk reconnects by itself well within this
    await adapter.start(sink)
    started.append(adapter)
    before = fake.socket_connections
    await fake.disconnect_socket()
    await fake.wait_for(lambda: fake.socket_connections > before)
    await fake.user_posts(BOSTON, "U0ANA", "after the refresh")
    await sink.wait(1)
    await fake.wait_for(lambda: connections.healthy())
    assert fake.socket_connections == before + 1
