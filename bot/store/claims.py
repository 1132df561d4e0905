"""Leases that let several Agora processes share one database's deliveries.

Two claims, both plain conditional UPDATEs that any SQL database runs the
same way (on PostgreSQL the row pick becomes ``FOR UPDATE SKIP LOCKED``):

- a **channel lease** (``channel_leases``): one sender per destination channel
  at a time, so copies keep their order and the platform's pace there. The
  holder renews it while it works; a process that dies simply stops renewing,
  and another takes the channel over once ``expires_at`` has passed.
- a **row claim** (``outbox.owner``/``lease_until``): the process about to post
  a delivery marks it ``sending`` under its name, but only if nobody else holds
  a live claim on it. A row taken over from a dead owner is still ``sending``,
  which tells the new owner to look for the post by nonce before posting again.

Clocks: expiry times are wall-clock seconds written by the claimer; processes
sharing a database must have roughly synchronised clocks (NTP), and a lease
must outlast the slowest platform call (``outbox.lease_seconds``).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.events import ChannelRef
from bot.store import PENDING, SENDING
from bot.store.sql import Database, placeholders


def process_owner() -> str:
    """A name for this process that no other process (here or on another host) shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class ChannelLease:
    """The outcome of asking for a channel: who holds it, until when, and its last post time."""

    held: bool
    owner: str
    expires_at: float
    last_post_at: float | None


class Claims:
    """Channel leases and row claims for one process (``owner``)."""

    def __init__(self, db: Database, owner: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.owner = owner
        self.now = clock

    def hold_channel(self, channel: ChannelRef, ttl: float) -> ChannelLease:
        """Take or renew the channel's lease unless another owner's lease is still live."""
        now = self.now()
        with self.db.transaction():
            self.db.execute(
                "insert into channel_leases (channel, owner, expires_at) values (?, ?, ?) "
                "on conflict (channel) do update set owner = excluded.owner, expires_at = excluded.expires_at "
                "where channel_leases.owner = excluded.owner or channel_leases.expires_at < ?",
                [str(channel), self.owner, now + ttl, now],
            )
            row = self.db.execute(
                "select owner, expires_at, last_post_at from channel_leases where channel = ?", [str(channel)]
            ).fetchone()
        owner, expires_at, last_post_at = row
        return ChannelLease(owner == self.owner, owner, float(expires_at), last_post_at)

    def release_channel(self, channel: ChannelRef, last_post_at: float | None) -> None:
        """Give the channel up at once (idle or stopping), leaving the last post time for pacing."""
        with self.db.transaction():
            self.db.execute(
                "update channel_leases set expires_at = 0, last_post_at = coalesce(?, last_post_at) "
                "where channel = ? and owner = ?",
                [last_post_at, str(channel), self.owner],
            )

    def expire_dead_local_owners(self) -> list[str]:
        """End at once the leases of owners on this host whose process is gone (a crash or
        SIGKILL before a restart), so a restarted bot need not wait for them to lapse."""
        now = self.now()
        rows = self.db.execute(
            "select distinct owner from channel_leases where expires_at >= ? and owner != ?", [now, self.owner]
        ).fetchall()
        dead = [owner for (owner,) in rows if dead_here(owner)]
        if dead:
            marks = placeholders(len(dead))
            with self.db.transaction():
                self.db.execute(f"update channel_leases set expires_at = 0 where owner in ({marks})", dead)
                self.db.execute(f"update outbox set lease_until = 0 where owner in ({marks})", dead)
        return dead

    def claim_delivery(self, row_id: int, ttl: float) -> bool:
        """Mark a pending (or abandoned) row ``sending`` under this owner; False if another owner holds it."""
        now = self.now()
        with self.db.transaction():
            cur = self.db.execute(
                "update outbox set state = ?, owner = ?, lease_until = ? "
                "where id = ? and state in (?, ?) and (owner is null or owner = ? or lease_until < ?)",
                [SENDING, self.owner, now + ttl, row_id, PENDING, SENDING, self.owner, now],
            )
        return cur.rowcount == 1


def dead_here(owner: str) -> bool:
    """Whether ``owner`` (see :func:`process_owner`) was a process on this host that no longer runs."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs, under another user
        return False
    return False
