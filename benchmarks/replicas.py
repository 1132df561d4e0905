"""Relay throughput with 1, 2 and 4 replicas on one database: part of ``agora bench scale``.

Each run starts the fake Slack and Discord, ``networks`` networks of four mirror channels
(two Slack, two Discord), and that many ``agora run`` processes sharing one database
(``testing/replicas.py``). Then ``messages`` people's posts arrive in the Slack channels at
once (Slack spreads them over the replicas' connections); each is relayed to the three other
channels of its network. ``copies_per_second`` is every copy posted on the fakes divided by the
time from the first post to the last copy; ``ratio`` compares it with one replica;
``cpu_ms_per_copy`` is the replicas' CPU time per copy (more with more replicas means overhead
such as contention for the database, not only the machine's busy cores).

A replica learns of rows another replica queued for a channel it holds only when its outbox polls
(``[outbox] poll_seconds``; in-process work wakes its worker at once), so the replicas run with
``poll_seconds`` = 0.05 here (``--poll-seconds``); at 0.2 two replicas were slower than one. The platforms'
pace is off (0 s between posts), so what is measured is Agora's own work and the shared database;
with a real pace (Slack about 1 s per channel) deliveries scale until the pace is the limit.

With ``--pace S`` (paced mode) the replicas post at the platforms' pace instead: at most one post
every S seconds per channel on Slack and on Discord (Slack allows about 1 message/s per channel;
Discord 5 per 5 s, the same 1/s on average), and every call to the fakes takes ``--latency`` seconds
(0.1 by default: a real server's round trip). ``limit_copies_per_second`` is then what the pace
allows this workload: every copy divided by the time the busiest channel needs for its copies at
that pace (the Discord channels of a network take the copies of both its Slack channels' posts, so
the limit is below channels / pace); ``of_limit`` is the share of it reached. Whether 1, 2 or 4
replicas reach the limit is the claim "replicas scale delivery until the platforms' pace is the limit",
measured.

The fakes run in the benchmark's own process and every process shares this machine's cores, so
the ratios say how the work spreads here, not what separate hosts would give. Run:
``agora bench replicas --json`` (or within ``agora bench scale``), or
``python -m benchmarks.replicas [--replicas 1,2,4] [--messages 600] [--networks 10] [--poll-seconds 0.05]
[--pace 1 --latency 0.1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testing.postgres import Cluster as PostgresCluster
from testing.postgres import running_cluster
from testing.replicas import Cluster


async def _measure(
    replicas: int,
    messages: int,
    networks: int,
    poll_seconds: float,
    postgres: PostgresCluster | None = None,
    pace: float = 0.0,
    latency: float = 0.0,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-replicas-"))
    database = postgres.create_database() if postgres else str(workdir / "agora.db")
    try:
        async with Cluster(
            workdir, database, networks=networks, slack_pace=pace, discord_pace=pace, poll_seconds=poll_seconds
        ) as c:
            c.slack.latency = c.discord.latency = latency
            for _ in range(replicas):
                await c.launch()
            await c.until(lambda: len(c.slack.open_sockets) == replicas, "every replica connected to Slack")
            sources = [link.key for link in c.links if link.platform == "slack"]
            per_source: dict[str, list[int]] = {}
            for token in range(messages):
                per_source.setdefault(sources[token % len(sources)], []).append(token)
            expected = messages * 3
            busiest = max(copies_per_channel(c, per_source).values())
            cpu_before = sum(r.cpu_seconds() for r in c.replicas)
            began = time.monotonic()

            async def post(channel: str, tokens: list[int]) -> None:
                for token in tokens:
                    await c.post_slack(channel, token)

            await asyncio.gather(*(post(channel, tokens) for channel, tokens in per_source.items()))
            await c.until(lambda: c.delivered() >= expected, "every copy", 1200)
            seconds = time.monotonic() - began
            cpu = sum(r.cpu_seconds() for r in c.replicas) - cpu_before
            doubled = c.duplicates()
            return {
                "replicas": replicas,
                "copies": c.delivered(),
                "seconds": round(seconds, 1),
                "copies_per_second": round(expected / seconds, 1),
                "replica_cpu_seconds": round(cpu, 1),  # all replicas together, over the same span
                "cpu_ms_per_copy": round(cpu * 1000 / expected, 2),
                "duplicates": sum(len(tokens) for tokens in doubled.values()),
                **(paced_figures(expected, seconds, busiest * pace) if pace > 0 else {}),
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def paced_figures(copies: int, seconds: float, busiest_seconds: float) -> dict[str, float]:
    """The pace's limit for this workload (every copy over the busiest channel's time at that pace) and the
    share of it reached."""
    limit = copies / busiest_seconds
    return {"limit_copies_per_second": round(limit, 1), "of_limit": round(copies / seconds / limit, 2)}


def copies_per_channel(cluster: Cluster, per_source: dict[str, list[int]]) -> dict[str, int]:
    """How many copies each linked channel receives: every post goes to the other channels of its network."""
    out: dict[str, int] = {}
    for source, tokens in per_source.items():
        ref = cluster.source_ref("slack", source)
        for other in cluster.network_of(ref):
            if other != ref:
                out[other] = out.get(other, 0) + len(tokens)
    return out


def run(
    counts: tuple[int, ...] = (1, 2, 4),
    messages: int = 600,
    networks: int = 10,
    poll_seconds: float = 0.05,
    backend: str = "sqlite",
    pace: float = 0.0,
    latency: float = 0.0,
) -> dict[str, Any]:
    """Throughput per replica count, and its ratio to one replica (the first count). ``backend``
    "postgresql": each run on a fresh database of a private PostgreSQL cluster (testing/postgres.py).
    ``pace`` > 0: the platforms' pace (seconds between posts per channel) and the fakes' ``latency``."""
    results = []
    with contextlib.ExitStack() as stack:
        postgres = stack.enter_context(running_cluster()) if backend == "postgresql" else None
        for count in counts:
            figures = asyncio.run(_measure(count, messages, networks, poll_seconds, postgres, pace, latency))
            print(f"replicas {backend} {count}: {figures}", file=sys.stderr, flush=True)
            results.append(figures)
    base = results[0]["copies_per_second"] or 1.0
    return {
        "backend": backend,
        "messages": messages,
        "channels": networks * 4,
        "pace_s": pace,
        "latency_s": latency,
        "poll_seconds": poll_seconds,
        "by_replicas": {str(r["replicas"]): {**r, "ratio": round(r["copies_per_second"] / base, 2)} for r in results},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replicas", default="1,2,4", help="comma-separated replica counts")
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--poll-seconds", type=float, default=0.05, help="[outbox] poll_seconds of the replicas")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="the shared database")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between posts per channel (0: unpaced)")
    parser.add_argument("--latency", type=float, default=None, help="seconds per fake API call (paced: 0.1)")
    args = parser.parse_args()
    counts = tuple(int(n) for n in args.replicas.split(","))
    latency = args.latency if args.latency is not None else (0.1 if args.pace > 0 else 0.0)
    print(
        json.dumps(
            run(counts, args.messages, args.networks, args.poll_seconds, args.backend, args.pace, latency), indent=2
        )
    )
