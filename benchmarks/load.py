"""The whole pipeline under load: ``agora bench load``.

1,000 messages posted at once across 50 city channels (25 on a fake Slack,
25 on a fake Discord, in 10 networks of 5, every channel in mirror mode), so
4,000 copies go out through the real slack-bolt and discord.py adapters, the
outbox and a real offline translation engine (what ``backend = "auto"``
finds: Argos models or Apertium), at Slack's real pace of one post per second
per channel. The bot runs as its own process (``agora run``); the figures are
throughput, end-to-end latency (post to copy), how closely Slack's per-channel
pace was kept, the bot's peak RSS, and how fast it acknowledged Slack's Socket
Mode envelopes (``slack_ack_p50_ms``/``p99``; Slack re-sends after 3 s, counted
in ``slack_event_retries``).

The fakes come from the testing kit (testing/), so the suite runs from an installed package.
Run: ``agora bench load --json`` or ``python -m benchmarks.load [--messages N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

SLACK_PACE = 1.0
DISCORD_PACE = 0.25


async def _bench(messages: int, channels: int, translation: str) -> dict[str, Any]:
    from testing.platforms import Platforms
    from testing.scenarios import load

    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-load-"))
    platforms = Platforms(workdir, channels=channels, per_network=5)
    await platforms.start()
    try:
        config = platforms.write_config(slack_pace=SLACK_PACE, discord_pace=DISCORD_PACE, translation=translation)
        await platforms.start_bot(config)
        figures = await load(platforms, messages=messages, slack_pace=SLACK_PACE)
        chosen = [line for line in platforms.log.read_text().splitlines() if "translation backend" in line]
        figures["translation"] = chosen[-1].split(": ", 1)[-1] if chosen else translation
        assert await platforms.stop_bot() == 0
        platforms.check_exactly_once_in_order()
        figures["exactly_once_in_order"] = True
        return figures
    finally:
        await platforms.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(messages: int = 1000, channels: int = 50, translation: str = "auto") -> dict[str, Any]:
    return asyncio.run(_bench(messages, channels, translation))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--translation", default="auto")
    args = parser.parse_args()
    print(json.dumps(run(args.messages, args.channels, args.translation), indent=2))
