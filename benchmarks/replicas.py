"""Relay throughput with 1, 2 and 4 replicas on one database: part of ``agora bench scale``.

Each run starts the fake Slack and Discord, ``networks`` networks of four mirror channels
(two Slack, two Discord), and that many ``agora run`` processes sharing one database
(``testing/replicas.py``). Then ``messages`` people's posts arrive in the Slack channels at
once (Slack spreads them over the replicas' connections); each is relayed to the three other
channels of its network. ``copies_per_second`` is every copy posted on the fakes divided by the
time from the first post to the last copy; ``ratio`` compares it with one replica. The platforms'
pace is off (0 s between posts), so what is measured is Agora's own work and the shared database;
with a real pace (Slack about 1 s per channel) deliveries scale until the pace is the limit.

The fakes run in the benchmark's own process and every process shares this machine's cores, so
the ratios say how the work spreads here, not what separate hosts would give. Run:
``agora bench replicas --json`` (or within ``agora bench scale``), or
``python -m benchmarks.replicas [--replicas 1,2,4] [--messages 300] [--networks 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testing.replicas import Cluster


async def _measure(replicas: int, messages: int, networks: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-replicas-"))
    try:
        async with Cluster(workdir, str(workdir / "agora.db"), networks=networks, slack_pace=0, discord_pace=0) as c:
            for _ in range(replicas):
                await c.launch()
            await c.until(lambda: len(c.slack.open_sockets) == replicas, "every replica connected to Slack")
            sources = [link.key for link in c.links if link.platform == "slack"]
            per_source: dict[str, list[int]] = {}
            for token in range(messages):
                per_source.setdefault(sources[token % len(sources)], []).append(token)
            expected = messages * 3
            began = time.monotonic()

            async def post(channel: str, tokens: list[int]) -> None:
                for token in tokens:
                    await c.post_slack(channel, token)

            await asyncio.gather(*(post(channel, tokens) for channel, tokens in per_source.items()))
            await c.until(lambda: c.delivered() >= expected, "every copy", 1200)
            seconds = time.monotonic() - began
            doubled = c.duplicates()
            return {
                "replicas": replicas,
                "copies": c.delivered(),
                "seconds": round(seconds, 1),
                "copies_per_second": round(expected / seconds, 1),
                "duplicates": sum(len(tokens) for tokens in doubled.values()),
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(counts: tuple[int, ...] = (1, 2, 4), messages: int = 300, networks: int = 10) -> dict[str, Any]:
    """Throughput per replica count, and its ratio to one replica (the first count)."""
    results = []
    for count in counts:
        figures = asyncio.run(_measure(count, messages, networks))
        print(f"replicas {count}: {figures}", file=sys.stderr, flush=True)
        results.append(figures)
    base = results[0]["copies_per_second"] or 1.0
    return {
        "messages": messages,
        "channels": networks * 4,
        "pace_s": 0,
        "by_replicas": {str(r["replicas"]): {**r, "ratio": round(r["copies_per_second"] / base, 2)} for r in results},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replicas", default="1,2,4", help="comma-separated replica counts")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--networks", type=int, default=10)
    args = parser.parse_args()
    counts = tuple(int(n) for n in args.replicas.split(","))
    print(json.dumps(run(counts, args.messages, args.networks), indent=2))
