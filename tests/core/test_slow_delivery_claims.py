"""Two processes on one database, one of them in a platform call longer than the delivery lease.

The sender renews its channel lease and row claim while the call runs, so the other process
does not take the channel over mid-call, find no post yet, and post the copy a second time.
(Found by ``agora bench replicas``: four replicas, a webhook created under load, one copy twice.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import Agora
from bot.config import parse_config
from bot.events import Author, IncomingMessage, MessageRef, OutgoingMessage
from bot.richtext import plain
from bot.testing import CollectingAdapter
from testing.polling import drain, eventually
from testing.translator import MarkingTranslator
from tests.core.conftest import BOSTON, GDL, RECIFE

LEASE = 1.0


class SlowPlatform(CollectingAdapter):
    """One "platform" seen by two processes; this process's posts take ``delay`` seconds to land."""

    def __init__(self, delay: float = 0.0, shared: CollectingAdapter | None = None) -> None:
        super().__init__("fake")
        self.delay = delay
        self.in_flight = asyncio.Event()
        self.landed = asyncio.Event()
        if shared is not None:  # the same platform: what one process posted, the other finds
            self.posts, self.by_id = shared.posts, shared.by_id

    async def send(self, msg: OutgoingMessage) -> MessageRef:
        self.in_flight.set()
        await asyncio.sleep(self.delay)
        try:
            return await super().send(msg)
        finally:
            self.landed.set()


def agora(path: Path, adapter: CollectingAdapter) -> Agora:
    raw = {
        "agora": {"database": str(path)},
        "outbox": {"backoff_base": 0.01, "backoff_max": 0.05, "lease_seconds": LEASE, "poll_seconds": 0.05},
        "networks": [
            {
                "name": "demo",
                "channels": [
                    {"ref": str(BOSTON), "city": "Boston", "lang": "en"},
                    {"ref": str(GDL), "city": "Guadalajara", "lang": "es", "mode": "mirror"},
                    {"ref": str(RECIFE), "city": "Recife", "lang": "pt"},
                ],
            }
        ],
    }
    return Agora(parse_config(raw, base=path.parent), adapters={"fake": adapter}, translator=MarkingTranslator())


async def test_a_delivery_slower_than_its_lease_is_not_taken_over_and_posted_twice(tmp_path: Path) -> None:
    slow = SlowPlatform(delay=LEASE * 2.5)
    other = SlowPlatform(shared=slow)
    first, second = agora(tmp_path / "agora.db", slow), agora(tmp_path / "agora.db", other)
    await first.start()
    try:
        for n in range(2):  # the second message waits behind the first, in flight for 2.5 leases
            text = plain(f"#{n} ¿cómo financian los albergues?")
            await slow.emit(IncomingMessage(GDL, f"m{n}", Author("u1", "Luis"), text))
        await eventually(slow.in_flight.is_set, "the first process to be in its slow platform call")
        await second.start()  # it sees the queued work, and a channel lease that would lapse mid-call
        await eventually(lambda: len(slow.posts[BOSTON]) + len(slow.posts[RECIFE]) >= 4, "every copy", 30)
        await eventually(slow.landed.is_set, "the slow call to end", 30)
        await drain(first.outbox)
        await drain(second.outbox)
        for channel in (BOSTON, RECIFE):
            nonces = [p.msg.nonce for p in slow.posts[channel]]
            assert nonces == sorted(set(nonces)), nonces
    finally:
        await first.stop(grace=1)
        await second.stop(grace=1)
