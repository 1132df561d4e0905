"""Wake-ups between processes sharing a database: "a delivery was queued for this channel".

A process wakes its own outbox worker when it queues a delivery. But a channel's
deliveries are sent by whichever process holds the channel's lease
(:mod:`bot.store.claims`), so a copy queued by one replica for a channel another
replica holds used to wait for the holder's next look at the outbox
(``[outbox] poll_seconds``).

On PostgreSQL a trigger announces every new outbox row when its transaction
commits (``NOTIFY``, step m012 in :mod:`bot.store.postgres_schema`), and each
process listens on a connection of its own: the holder wakes at once. A lease given up
while its channel has work (a replica stopping with a backlog) is announced the
same way, so another replica takes the channel over at once. SQLite has
no such channel between processes, so there they poll; a listener that lost its
connection polls too until it has reconnected, then looks at every channel with
work, in case it missed a notice while it was away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.events import ChannelRef
from bot.store.schema import postgres_module
from bot.store.sql import POSTGRESQL, Database


class Wakeups(Protocol):
    """Notices of deliveries other processes queued, as they commit."""

    async def run(
        self, wake: Callable[[ChannelRef], None], released: Callable[[ChannelRef], None], missed: Callable[[], None]
    ) -> None:
        """Listen until cancelled: ``wake(channel)`` for each channel another process queued work for,
        ``released(channel)`` for each channel with work whose lease another process gave up (it
        stopped, or was found dead), ``missed()`` whenever listening (re)starts, as notices may have
        been lost before. Reconnects by itself; never raises but :class:`asyncio.CancelledError`."""
        ...


def outbox_wakeups(db: Database) -> Wakeups | None:
    """The wake-ups of ``db``'s engine, or None where processes poll for each other's work (SQLite)."""
    if db.dialect != POSTGRESQL:
        return None
    wakeups: Wakeups = postgres_module().OutboxNotices(db)
    return wakeups
