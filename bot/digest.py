"""The weekly digest: posted by the bot on a schedule kept in the database.

Each opted-in channel stores when its next digest is due, so a restart neither
skips nor repeats one: a digest that fell due while Agora was down goes out at
start-up, once, and the next is set a week on. Digests travel through the
outbox like any copy, so they are paced, retried and delivered exactly once.
Processes sharing the database claim a due digest by moving its due time on
in the same transaction that queues it, so only one of them queues it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable

from bot.config import Config
from bot.events import ChannelRef
from bot.model import Channel
from bot.report import Reports
from bot.richtext import RichText
from bot.store import Store

log = logging.getLogger(__name__)
CHECK_EVERY = 60.0


def next_slot(after: float, weekday: int, hour: int) -> float:
    """The first ``weekday`` at ``hour``:00 UTC strictly after ``after``."""
    start = dt.datetime.fromtimestamp(after, dt.UTC)
    day = start.replace(hour=hour, minute=0, second=0, microsecond=0)
    day += dt.timedelta(days=(weekday - day.weekday()) % 7)
    if day.timestamp() <= after:
        day += dt.timedelta(days=7)
    return day.timestamp()


class Digests:
    """Finds due digests, queues them, and sleeps until the next check."""

    def __init__(
        self,
        store: Store,
        reports: Reports,
        wake: Callable[[ChannelRef], None],
        config: Config,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.reports = reports
        self.wake = wake
        self.config = config
        self.clock = clock
        self._event = asyncio.Event()

    def poke(self) -> None:
        """A channel opted in: schedule it now rather than at the next check."""
        self._event.set()

    def run_due(self) -> int:
        """Queue every digest that is due; returns how many were queued."""
        now = self.clock()
        queued = 0
        for channel, due in self.store.digest_due(now):
            text = self.reports.digest(channel.network, channel.lang) if due is not None else ()
            queued += self._queue(channel, due, now, text)
        return queued

    async def run_due_off_loop(self) -> int:
        """:meth:`run_due` with each digest's text computed off the event loop."""
        now = self.clock()
        queued = 0
        for channel, due in self.store.digest_due(now):
            text: RichText = ()
            if due is not None:
                digest = functools.partial(Reports.digest, network=channel.network, lang=channel.lang)
                text = await self.reports.off_loop(digest)
            queued += self._queue(channel, due, now, text)
        return queued

    def _queue(self, channel: Channel, due: float | None, now: float, text: RichText) -> int:
        following = next_slot(now, self.config.digest_weekday, self.config.digest_hour)
        if due is None:  # just opted in: first digest at the next slot
            self.store.set_digest_next(channel.ref, following)
            return 0
        with self.store.transaction():
            if not self.store.claim_digest(channel.ref, due, following):
                return 0  # another process sharing the database queued this one
            self.store.add_notice(channel, text)
        self.wake(channel.ref)
        log.info("queued weekly digest for %s", channel.ref)
        return 1

    async def run(self) -> None:
        while True:
            try:
                await self.run_due_off_loop()
            except Exception:
                log.exception("digest check failed; trying again in %.0fs", CHECK_EVERY)
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), CHECK_EVERY)
