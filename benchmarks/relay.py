"""Core relay overhead: questions through relay, store and outbox to a collecting adapter.

No platform and no engine (the pass-through translator), so the figures are
the core's own cost: how many copies per second one process commits and
delivers into 50 channels, and the end-to-end latency of a copy.
Run: ``agora bench relay`` or ``python -m benchmarks.relay``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.app import Agora
from bot.config import parse_config
from bot.events import Author, ChannelRef, CommandInvoked, Reply
from bot.passthrough import PassThrough
from bot.testing import CollectingAdapter

CHANNELS = 50
QUESTIONS = 200


def _config(db: Path) -> Any:
    langs = ("en", "es", "pt")
    channels = [{"ref": f"fake:bench/c{i}", "city": f"City {i}", "lang": langs[i % 3]} for i in range(CHANNELS)]
    return parse_config(
        {"agora": {"database": str(db)}, "networks": [{"name": "bench", "channels": channels}]}, base=db.parent
    )


async def _bench(db: Path) -> dict[str, Any]:
    adapter = CollectingAdapter("fake", max_text=4000)
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    original_send = adapter.send

    async def timed_send(msg):  # type: ignore[no-untyped-def]
        ref = await original_send(msg)
        if msg.meta is not None:
            latencies.append(time.perf_counter() - sent_at[msg.meta.message_id])
        return ref

    adapter.send = timed_send  # type: ignore[method-assign]
    agora = Agora(_config(db), adapters={"fake": adapter}, translator=PassThrough())
    await agora.start()

    async def ignore(reply: Reply) -> None:
        return None

    source = ChannelRef("fake", "bench", "c0")
    start = time.perf_counter()
    for i in range(QUESTIONS):
        sent_at[i + 1] = time.perf_counter()
        await agora.handle(
            CommandInvoked(
                source, Author("u", "Ana"), "ask", f"How do you fund shelters? #{i}", ignore, can_manage=True
            )
        )
    committed = time.perf_counter() - start
    await agora.outbox.drain(120)
    total = time.perf_counter() - start
    await agora.stop(grace=1)
    copies = sum(len(v) for v in adapter.posts.values())
    latencies.sort()
    return {
        "channels": CHANNELS,
        "questions": QUESTIONS,
        "copies_delivered": copies,
        "commit_per_question_ms": round(committed / QUESTIONS * 1000, 3),
        "copies_per_second": round(copies / total, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_bench(Path(tmp) / "bench.db"))


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
