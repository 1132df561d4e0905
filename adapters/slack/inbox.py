"""Slack events kept in the database from their acknowledgement until the core has them.

Socket Mode envelopes are acknowledged on arrival (Slack allows 3 seconds, see
socket.py), so Slack never re-sends an event a replica took and then died
with. Each message event is therefore written to ``slack_inbox`` before its
acknowledgement and removed once the core has it (or knew it already). A row
left behind belongs to a replica that died, or was stopped, in between; every
replica looks for such rows now and then and takes them over: rows older than
``stale_after`` seconds, or at once those of a process of this host that no
longer runs. Two replicas relaying one event is harmless: the core drops the
second in the transaction that would store it. The table is small (rows live
for milliseconds), has its own migrations (``agora-slack-inbox``, with the same
step for PostgreSQL) and is written through the SQL seam, so it runs on any backend.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.store.claims import dead_here
from bot.store.schema import apply_migrations
from bot.store.sql import Database

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # an event the core failed on this often is dropped (logged), not retried forever
SCHEMA = (
    "create table slack_inbox (event_id text primary key, team text not null, "
    "body text not null, owner text not null, received_at double precision not null, "
    "attempts integer not null default 0)"
)
migrations = Migrations("agora-slack-inbox")
POSTGRES_STEPS = (("m001_inbox", SCHEMA),)
"""The same step in PostgreSQL's SQL."""


@migrations()
def m001_inbox(db: sqlite_utils.Database) -> None:
    db.table("slack_inbox").create(
        {"event_id": str, "team": str, "body": str, "owner": str, "received_at": float, "attempts": int},
        pk="event_id",
        not_null={"team", "body", "owner", "received_at", "attempts"},
        defaults={"attempts": 0},
    )


@dataclass(frozen=True, slots=True)
class Kept:
    """One event taken over from the inbox."""

    event_id: str
    team: str
    body: dict[str, Any]
    attempts: int


class Inbox:
    """This replica's view of ``slack_inbox`` (``owner`` names the process)."""

    def __init__(self, db: Database, owner: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.owner = owner
        self.now = clock

    def create(self) -> None:
        """Bring ``slack_inbox`` up to date (once per database; a second replica finds it done)."""
        apply_migrations(self.db, migrations, POSTGRES_STEPS)

    def keep(self, event_id: str, team: str, body: Mapping[str, Any]) -> None:
        """Hold an event that is about to be acknowledged (a redelivery keeps the first row)."""
        with self.db.transaction():
            self.db.execute(
                "insert into slack_inbox (event_id, team, body, owner, received_at) values (?, ?, ?, ?, ?) "
                "on conflict (event_id) do nothing",
                [event_id, team, json.dumps(body), self.owner, self.now()],
            )

    def done(self, event_id: str) -> None:
        """The core has the event (or needed it not): forget it."""
        with self.db.transaction():
            self.db.execute("delete from slack_inbox where event_id = ?", [event_id])

    def take_over(self, stale_after: float, limit: int = 100) -> list[Kept]:
        """Claim rows another replica left behind (see the module docstring), oldest first."""
        now = self.now()
        rows = list(
            self.db.query(
                "select event_id, team, body, owner, received_at, attempts from slack_inbox "
                "where owner != ? or received_at < ? order by received_at limit ?",
                [self.owner, now - stale_after, limit],
            )
        )
        taken: list[Kept] = []
        for row in rows:
            stale = row["received_at"] < now - stale_after
            if not stale and not dead_here(row["owner"]):
                continue  # a live replica is still on it
            with self.db.transaction():
                cur = self.db.execute(
                    "update slack_inbox set owner = ?, received_at = ?, attempts = attempts + 1 "
                    "where event_id = ? and owner = ? and received_at = ?",
                    [self.owner, now, row["event_id"], row["owner"], row["received_at"]],
                )
            if cur.rowcount != 1:
                continue  # another replica took it first
            if row["attempts"] + 1 > MAX_ATTEMPTS:
                log.error(
                    "slack: dropping event %s, taken over %d times without reaching the core",
                    row["event_id"],
                    MAX_ATTEMPTS,
                )
                self.done(row["event_id"])
                continue
            taken.append(Kept(row["event_id"], row["team"], json.loads(row["body"]), row["attempts"] + 1))
        return taken
