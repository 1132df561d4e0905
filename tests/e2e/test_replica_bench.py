"""The replica benchmark's paced mode: a real replica posts at the platforms' pace to fakes that take
their time, and the limit it is compared with is the busiest channel's share of the copies."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.replicas import copies_per_channel, paced_figures, run
from testing.replicas import Cluster


def test_the_pace_limit_is_set_by_the_busiest_channel() -> None:
    # 12 copies in 2 s at the busiest channel's pace: 6 copies/s at most; 4 copies/s is two thirds of it.
    assert paced_figures(12, 3.0, 2.0) == {"limit_copies_per_second": 6.0, "of_limit": 0.67}


async def test_each_discord_channel_takes_the_copies_of_both_slack_channels(tmp_path: Path) -> None:
    async with Cluster(tmp_path, str(tmp_path / "a.db"), networks=2) as c:
        sources = [link.key for link in c.links if link.platform == "slack"]
        counts = copies_per_channel(c, {source: [1, 2, 3] for source in sources})
    slack = {c.ref(link) for link in c.links if link.platform == "slack"}
    assert len(counts) == 8
    assert {n for ref, n in counts.items() if ref in slack} == {3}  # the other Slack channel's posts
    assert {n for ref, n in counts.items() if ref not in slack} == {6}  # both Slack channels' posts


async def test_the_fakes_answer_after_their_latency(tmp_path: Path) -> None:
    import aiohttp

    async with Cluster(tmp_path, str(tmp_path / "a.db")) as c:
        c.slack.latency = c.discord.latency = 0.3
        async with aiohttp.ClientSession() as session:
            began = time.monotonic()
            async with session.post(f"{c.slack.api_url}api.test") as resp:
                await resp.read()
            slack_took = time.monotonic() - began
            began = time.monotonic()
            async with session.get(f"{c.discord.api_base}/gateway") as resp:
                await resp.read()
            discord_took = time.monotonic() - began
    # A lower bound only (the latency is a sleep before the answer), never an upper one.
    assert slack_took >= 0.3 and discord_took >= 0.3


def test_a_paced_run_delivers_every_copy_once_and_reports_its_limit() -> None:
    figures = run((1,), messages=6, networks=1, poll_seconds=0.05, pace=0.2, latency=0.02)
    one = figures["by_replicas"]["1"]
    assert figures["pace_s"] == 0.2 and figures["latency_s"] == 0.02
    assert one["copies"] == 18 and one["duplicates"] == 0
    # 6 posts over 2 Slack channels: each Discord channel takes all 6 copies, 1.2 s at the pace.
    assert one["limit_copies_per_second"] == 15.0 and one["of_limit"] > 0
