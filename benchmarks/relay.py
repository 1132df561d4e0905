"""The core's own work per relayed message: ``agora bench`` (the default suite).

A message arrives in a mirror channel of a 51-channel network and is
received, detected, tagged, stored, fanned out to the other 50 channels and
committed with its 50 outbox rows, all through the real Agora object with the
pass-through translator and no platform I/O. ``relay_p50_ms``/``relay_p99_ms``
time exactly that (one ``Agora.handle`` call); ``loop_p50_ms``/``loop_p99_ms`` are
the part of it the event loop's own thread spent computing (its CPU time),
which is what holds up everything else the loop serves: tagging runs in a
worker thread meanwhile. Delivery is measured apart, into a collecting adapter,
as ``delivery_copies_per_s``.
Run: ``agora bench --json`` or ``python -m benchmarks.relay``.
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
from bot.config import Config, parse_config
from bot.events import Author, ChannelRef, IncomingMessage
from bot.passthrough import PassThrough
from bot.richtext import plain
from bot.testing import CollectingAdapter
from testing.polling import drain

FAN_OUT = 50
MESSAGES = 500
WARM_UP = 50
TEXTS = (
    "How do you fund homeless shelters after the federal money ends? Message {i}.",
    "¿Qué lineamientos tienen para el uso de IA generativa por el personal? Mensaje {i}.",
    "Como vocês mantêm o orçamento por desempenho depois da troca de prefeito? Mensagem {i}.",
)


def _config(db: Path) -> Config:
    langs = ("en", "es", "pt")
    channels = [
        {"ref": f"fake:bench/c{i}", "city": f"City {i}", "lang": langs[i % 3], "mode": "mirror"}
        for i in range(FAN_OUT + 1)
    ]
    # The outbox supervisor must not deliver during the relay phase (handle yields while tagging): a half-hour poll.
    outbox = {"poll_seconds": 1800, "lease_seconds": 3600}
    raw = {"agora": {"database": str(db)}, "outbox": outbox, "networks": [{"name": "bench", "channels": channels}]}
    return parse_config(raw, base=db.parent)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _bench(db: Path, messages: int = MESSAGES, warm_up: int = WARM_UP) -> dict[str, Any]:
    adapter = CollectingAdapter("fake", max_text=4000)
    agora = Agora(_config(db), adapters={"fake": adapter}, translator=PassThrough())
    await agora.start()
    woken: set[ChannelRef] = set()
    agora.relay.wake = woken.add  # delivery is measured apart, below
    source = ChannelRef("fake", "bench", "c0")
    author = Author("u1", "Ana")
    timings: list[float] = []
    on_loop: list[float] = []
    for i in range(warm_up + messages):
        event = IncomingMessage(source, f"m{i}", author, plain(TEXTS[i % 3].format(i=i)))
        cpu = time.thread_time()
        started = time.perf_counter()
        await agora.handle(event)
        if i >= warm_up:
            timings.append(time.perf_counter() - started)
            on_loop.append(time.thread_time() - cpu)
    copies = (warm_up + messages) * FAN_OUT
    started = time.perf_counter()
    for ref in woken:
        agora.outbox.wake(ref)
    await drain(agora.outbox, 600)
    delivery = time.perf_counter() - started
    await agora.stop(grace=1)
    delivered = sum(len(v) for v in adapter.posts.values())
    assert delivered == copies, (delivered, copies)
    return {
        "channels": FAN_OUT,
        "messages": messages,
        "relay_p50_ms": round(statistics.median(timings) * 1000, 3),
        "relay_p99_ms": round(_percentile(timings, 0.99) * 1000, 3),
        "relay_mean_ms": round(statistics.fmean(timings) * 1000, 3),
        "loop_p50_ms": round(statistics.median(on_loop) * 1000, 3),
        "loop_p99_ms": round(_percentile(on_loop, 0.99) * 1000, 3),
        "messages_per_s": round(len(timings) / sum(timings), 1),
        "delivery_copies_per_s": round(copies / delivery, 1),
    }


def run(messages: int = MESSAGES, warm_up: int = WARM_UP) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_bench(Path(tmp) / "bench.db", messages, warm_up))


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
