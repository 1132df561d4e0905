"""Proof under load: 1,000 messages into 50 channels on fake Slack and Discord, the bot
killed with SIGKILL twice during delivery; every copy arrives exactly once, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from testing.platforms import Platforms
from testing.polling import database_settled, eventually

MESSAGES = 1000


@pytest.fixture
async def platforms(tmp_path: Path) -> AsyncIterator[Platforms]:
    async with Platforms(tmp_path) as p:
        yield p


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_two_sigkills_during_a_burst_lose_and_double_nothing(platforms: Platforms) -> None:
    p = platforms
    config = p.write_config(slack_pace=0.05, discord_pace=0.05)
    await p.start_bot(config)
    await p.burst(MESSAGES)
    total = sum(len(v) for v in p.expected().values())
    assert total == MESSAGES * (p.per_network - 1)
    kills = []

    def delivered_share(fraction: float) -> Callable[[], bool]:
        return lambda: p.delivered() >= total * fraction

    for fraction in (1 / 3, 2 / 3):
        await p.until(delivered_share(fraction), 300, f"{fraction:.0%} delivered")
        p.kill_bot()
        kills.append(p.delivered())
        await p.start_bot(config)
    # Both kills landed with much of the burst still to deliver.
    assert kills[0] < total * 0.5 and kills[1] < total * 0.85, kills

    await p.until(p.complete, 300, "every copy delivered")
    # Count only once nothing is pending or being sent: a duplicate would have been posted by then.
    await eventually(lambda: database_settled(p.workdir / "agora.db"), "the outbox to settle")
    assert await p.stop_bot() == 0
    figures = p.check_exactly_once_in_order()
    assert figures["copies"] == total
