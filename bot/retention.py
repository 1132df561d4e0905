"""Keep data only as long as the network allows, and erase one person's data on request.

``[agora] retention_days`` (0 keeps everything) starts an hourly purge of message
content older than that; ``agora erase --author`` removes one person's stored text,
translations and cached pieces and, with ``--copies``, queues the deletion of their
relayed copies on every platform. What stays is listed in :mod:`bot.store.privacy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import ConfigError
from bot.events import ChannelRef
from bot.files import Files
from bot.store import Store
from bot.store.privacy import Removed

log = logging.getLogger(__name__)
CHECK_EVERY = 3600.0
DAY = 86400.0


class Retention:
    """The hourly purge behind ``retention_days``."""

    def __init__(
        self, store: Store, days: int, clock: Callable[[], float] = time.time, files: Files | None = None
    ) -> None:
        self.store = store
        self.days = days
        self.clock = clock
        self.files = files

    def run_once(self) -> Removed:
        removed = self.store.purge_before(self.clock() - self.days * DAY)
        if self.files is not None and removed.files:
            self.files.forget_unreferenced()
        if removed.messages or removed.deliveries or removed.cached_pieces:
            log.info(
                "retention (%d days): forgot %d messages, %d translations, %d cached pieces, %d deliveries",
                self.days,
                removed.messages,
                removed.translations,
                removed.cached_pieces,
                removed.deliveries,
            )
        return removed

    async def run(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:
                log.exception("retention purge failed; trying again in %.0fs", CHECK_EVERY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.Event().wait(), CHECK_EVERY)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What ``agora erase`` did: the content it removed and the copies it queued for deletion."""

    removed: Removed
    copies_queued: int


def parse_author(text: str) -> ChannelRef:
    """``platform:space/user`` (the same shape as a channel reference), or ConfigError saying why."""
    try:
        return ChannelRef.parse(text)
    except ValueError as exc:
        raise ConfigError(f"--author: {exc} (expected platform:space/user, e.g. slack:T0123/U0456)") from None


def erase_author(
    store: Store, author: str, *, copies: bool, dry_run: bool = False, files: Files | None = None
) -> Erasure:
    """Remove one person's data (stored files included); with ``copies``, also queue deletes of their copies."""
    ref = parse_author(author)
    ids = store.messages_by_author(ref.platform, ref.space, ref.channel)
    if dry_run:
        return Erasure(Removed(messages=len(ids), message_ids=tuple(ids)), 0)
    queued = 0
    if copies:
        before = sum(len(c.platform_ids) > 0 for i in ids for c in store.copies_of(i))
        store.queue_copy_deletes(ids)
        queued = before
    removed = store.erase_messages(ids)
    if files is not None and removed.files:
        files.forget_unreferenced()
    return Erasure(removed, queued)
