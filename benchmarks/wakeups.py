"""Cross-replica relay latency on PostgreSQL: a copy queued by one replica for a channel another holds.

Two replicas (two :class:`bot.app.Agora` in this process, each with its own connections and outbox)
share one database of a private PostgreSQL cluster. One replica's worker holds the destination
channel's lease; the other replica relays ``messages`` messages one at a time, each waiting for its
copy to be posted. ``latency_ms`` is from the message's arrival at the queueing replica (relay and
commit included) to the copy's post, as seen on the shared fake platform (looked at every
millisecond). It runs twice: with the wake-ups (LISTEN/NOTIFY, the default on PostgreSQL), and
without them, as before they existed (the holder finds the row at its next poll, every
``[outbox] poll_seconds``); both with the same ``poll_seconds`` (default 1.0, the shipped default).

Run: ``python -m benchmarks.wakeups [--messages 40] [--poll-seconds 1.0]``; prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.app import Agora
from bot.config import parse_config
from bot.events import Author, ChannelRef, IncomingMessage
from bot.richtext import plain
from bot.store.sql import scalar
from bot.testing import CollectingAdapter
from testing.postgres import Cluster, running_cluster
from testing.translator import MarkingTranslator

SOURCE = ChannelRef("fake", "s", "boston")
TARGET = ChannelRef("fake", "s", "gdl")


def _replica(database: str, workdir: Path, adapter: CollectingAdapter, poll_seconds: float) -> Agora:
    raw = {
        "agora": {"database": database},
        "outbox": {"poll_seconds": poll_seconds},
        "networks": [
            {
                "name": "demo",
                "channels": [
                    {"ref": str(SOURCE), "city": "Boston", "lang": "en", "mode": "mirror"},
                    {"ref": str(TARGET), "city": "Guadalajara", "lang": "en"},
                ],
            }
        ],
    }
    config = parse_config(raw, base=workdir, path=workdir / "config.toml")
    return Agora(config, adapters={"fake": adapter}, translator=MarkingTranslator())


async def _posted(adapter: CollectingAdapter, count: int, budget: float) -> None:
    deadline = time.monotonic() + budget
    while len(adapter.posts[TARGET]) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"copy {count} not posted within {budget} s")
        await asyncio.sleep(0.001)


async def _measure(cluster: Cluster, messages: int, poll_seconds: float, wakeups: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-wakeups-"))
    database = cluster.create_database()
    platform = CollectingAdapter("fake")
    other_view = CollectingAdapter("fake")
    other_view.posts, other_view.by_id = platform.posts, platform.by_id  # one platform, seen by both
    replicas = [
        _replica(database, workdir, platform, poll_seconds),
        _replica(database, workdir, other_view, poll_seconds),
    ]
    for agora in replicas:
        if not wakeups:
            agora.outbox.wakeups = None
        await agora.start()
    try:
        author = Author("u1", "Ana")
        await platform.emit(IncomingMessage(SOURCE, "warmup", author, plain("warming up")))
        await _posted(platform, 1, 30)  # one replica's worker now holds TARGET, idle
        owner = scalar(replicas[0].db, "select owner from channel_leases where channel = ?", [str(TARGET)])
        queueing = next(agora for agora in replicas if agora.outbox.claims.owner != owner)
        source = queueing.adapters["fake"]
        assert isinstance(source, CollectingAdapter)
        latencies = []
        for n in range(messages):
            began = time.perf_counter()
            await source.emit(IncomingMessage(SOURCE, f"m{n}", author, plain(f"question {n}")))
            await _posted(platform, n + 2, poll_seconds * 3 + 30)
            latencies.append((time.perf_counter() - began) * 1000)
        latencies.sort()
        return {
            "wakeups": wakeups,
            "messages": messages,
            "latency_ms_p50": round(statistics.median(latencies), 1),
            "latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
            "latency_ms_max": round(latencies[-1], 1),
        }
    finally:
        for agora in replicas:
            await agora.stop(grace=1)
        cluster.drop_database(database)


def run(messages: int = 40, poll_seconds: float = 1.0) -> dict[str, Any]:
    """Latency with and without wake-ups, on one private cluster."""
    with running_cluster() as cluster:
        runs = [asyncio.run(_measure(cluster, messages, poll_seconds, on)) for on in (True, False)]
    return {"backend": "postgresql", "poll_seconds": poll_seconds, "runs": runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="[outbox] poll_seconds of both replicas")
    args = parser.parse_args()
    print(json.dumps(run(args.messages, args.poll_seconds), indent=2))
