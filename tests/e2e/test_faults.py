"""Faults on both fake platforms: nothing is lost, order per channel holds, and a
healthy channel is not held up by a throttled one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from testing.platforms import Platforms
from testing.scenarios import chaos, isolation


@pytest.fixture
async def platforms(tmp_path: Path) -> AsyncIterator[Platforms]:
    async with Platforms(tmp_path, channels=10, per_network=10) as p:
        yield p


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_faults_lose_nothing_and_do_not_stall_healthy_channels(platforms: Platforms) -> None:
    p = platforms
    # Slack's real pace (one post per second per channel); Discord's default.
    config = p.write_config(slack_pace=1.0, discord_pace=0.25)
    await p.start_bot(config)

    figures = await isolation(p)
    print("isolation:", json.dumps(figures))
    assert figures["healthy_channels"] == 7
    assert figures["healthy_copies"] == figures["healthy_channels"] * 10
    assert figures["healthy_delay_max_s"] < 2.0
    # The throttled channels really were held back while the others flowed.
    assert all(n < 10 for n in figures["throttled_delivered_while_throttled"].values())

    figures = await chaos(p)
    print("chaos:", json.dumps(figures))
    assert figures["slack_socket_connections"] >= 3
    assert await p.stop_bot() == 0
    p.check_exactly_once_in_order()
