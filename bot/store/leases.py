"""Named leases: how replicas sharing one database elect who holds a one-of-a-kind job.

Some work may be done by only one process at a time however many replicas run:
a Discord bot token holds one gateway session per shard, so exactly one replica
should connect it. The replicas elect that holder through a row in ``leases``
(``name`` → ``holder``, ``expires_at``): whoever holds a live row has the job;
it renews the row well before it lapses; a holder that dies stops renewing and
another replica takes the row over once ``expires_at`` has passed. A holder
that stops cleanly releases the row, so the takeover need not wait.

Taking and renewing is one conditional upsert (``on conflict … do update …
where``) that SQLite and PostgreSQL run the same way, so two replicas racing for
a free lease cannot both win. Times are wall-clock seconds from the injected
clock: replicas must keep their clocks synchronised (NTP), and a lease's TTL
must be much longer than the worst skew between them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store.sql import Database, SqliteDatabase, one


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease as its asker found it: who holds it, until when, and whether that is the asker."""

    name: str
    holder: str
    expires_at: float
    held: bool


def as_database(db: Any) -> Database:
    """The seam over ``db``: a :class:`Database` as is, or a sqlite-utils database's connection
    wrapped (while adapters still get sqlite-utils databases)."""
    if hasattr(db, "dialect"):
        return db  # type: ignore[no-any-return]
    conn = getattr(db, "conn", db)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError(f"not a database: {db!r}")
    return SqliteDatabase(conn)


class Leases:
    """The named leases one process (``holder``) takes, renews and releases."""

    def __init__(self, db: Database, holder: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.holder = holder
        self.now = clock

    def acquire(self, name: str, ttl: float) -> Lease:
        """Take ``name`` for ``ttl`` seconds if it is free, lapsed or already ours (then it is renewed)."""
        now = self.now()
        with self.db.transaction():
            self.db.execute(
                "insert into leases (name, holder, expires_at) values (?, ?, ?) "
                "on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at "
                "where leases.holder = excluded.holder or leases.expires_at < ?",
                [name, self.holder, now + ttl, now],
            )
            row = one(self.db, "select holder, expires_at from leases where name = ?", [name])
        assert row is not None  # the insert or the conflicting row put it there
        return Lease(name, str(row["holder"]), float(row["expires_at"]), row["holder"] == self.holder)

    def renew(self, name: str, ttl: float) -> bool:
        """Extend our hold on ``name`` by ``ttl`` from now; False if it is no longer ours (taken over)."""
        with self.db.transaction():
            cur = self.db.execute(
                "update leases set expires_at = ? where name = ? and holder = ?", [self.now() + ttl, name, self.holder]
            )
        return cur.rowcount == 1

    def release(self, name: str) -> bool:
        """Give ``name`` up at once if we hold it (a clean shutdown), so another replica takes it now."""
        with self.db.transaction():
            cur = self.db.execute("update leases set expires_at = 0 where name = ? and holder = ?", [name, self.holder])
        return cur.rowcount == 1

    def release_for(self, name: str, holder: str) -> bool:
        """End ``holder``'s lease on ``name`` at once: a process known to be gone (see
        :func:`bot.store.claims.dead_here`), so nobody waits for its lease to lapse."""
        with self.db.transaction():
            cur = self.db.execute("update leases set expires_at = 0 where name = ? and holder = ?", [name, holder])
        return cur.rowcount == 1

    def current(self, name: str) -> Lease | None:
        """Who holds ``name`` (live or lapsed; ``held`` only while ours and live), or None if nobody took it."""
        row = one(self.db, "select holder, expires_at from leases where name = ?", [name])
        if row is None:
            return None
        live = row["holder"] == self.holder and float(row["expires_at"]) >= self.now()
        return Lease(name, str(row["holder"]), float(row["expires_at"]), live)
