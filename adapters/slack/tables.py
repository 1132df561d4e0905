"""The Slack adapter's own tables in the shared database.

- ``slack_events``: event ids (and ``msg:`` keys for new messages) already
  handed to the core, so Slack's retries and a catch-up that overlaps live
  traffic never produce a second copy. Bounded: old keys are pruned.
- ``slack_seen``: the newest message ts seen per channel, where catch-up starts.
- ``slack_threads``: threads the bot knows (its copies, threads with replies),
  so catch-up can look for replies posted while it was down.
- ``slack_installations``/``slack_bots``/``slack_oauth_states``: see installations.py.

Every call is a tiny synchronous write on the event-loop thread, as the core's
store does.
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("agora-slack")
THREAD_DAYS = 90


@migrations()
def m001_tables(db: sqlite_utils.Database) -> None:
    db.table("slack_events").create({"key": str, "at": float}, pk="key", if_not_exists=True)
    db.table("slack_seen").create({"team": str, "channel": str, "ts": str}, pk=("team", "channel"), if_not_exists=True)
    db.table("slack_threads").create(
        {"team": str, "channel": str, "thread_ts": str, "last_ts": str},
        pk=("team", "channel", "thread_ts"),
        if_not_exists=True,
    )
    db.table("slack_installations").create(
        {
            "id": int,
            "client_id": str,
            "enterprise_id": str,
            "team_id": str,
            "user_id": str,
            "installed_at": float,
            "data": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("slack_bots").create(
        {"id": int, "client_id": str, "enterprise_id": str, "team_id": str, "installed_at": float, "data": str},
        pk="id",
        if_not_exists=True,
    )
    db.table("slack_oauth_states").create({"state": str, "expire_at": float}, pk="state", if_not_exists=True)


def ts_value(ts: str) -> Decimal:
    """A Slack ts as a number; unparsable ts sort first rather than crash."""
    try:
        return Decimal(ts)
    except (InvalidOperation, ValueError):
        return Decimal(0)


class SlackTables:
    """Dedupe keys, last-seen positions and known threads."""

    def __init__(self, db: sqlite_utils.Database, *, keep_seconds: float = 3 * 86400, prune_every: int = 500) -> None:
        self.db = db
        self.keep_seconds = keep_seconds
        self.prune_every = prune_every
        self._inserts = 0
        migrations.apply(db)

    # ---------------------------------------------------------------- dedupe

    def first_time(self, key: str) -> bool:
        """Record ``key``; True only the first time it is seen."""
        with self.db.atomic():
            cursor = self.db.execute("INSERT OR IGNORE INTO slack_events (key, at) VALUES (?, ?)", [key, time.time()])
        self._inserts += 1
        if self._inserts % self.prune_every == 0:
            self.prune()
        return bool(cursor.rowcount)

    def seen_key(self, key: str) -> bool:
        """Whether ``key`` was recorded, without recording it."""
        row = self.db.execute("SELECT 1 FROM slack_events WHERE key = ?", [key]).fetchone()
        return row is not None

    def prune(self, now: float | None = None) -> None:
        """Forget keys older than ``keep_seconds`` (Slack stops retrying after minutes) and long-quiet threads."""
        now = now if now is not None else time.time()
        with self.db.atomic():
            self.db.execute("DELETE FROM slack_events WHERE at < ?", [now - self.keep_seconds])
            self.db.execute("DELETE FROM slack_threads WHERE CAST(last_ts AS REAL) < ?", [now - THREAD_DAYS * 86400])

    def count_keys(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM slack_events").fetchone()[0])

    # ------------------------------------------------------------------ seen

    def last_seen(self, team: str, channel: str) -> str | None:
        row = self.db.execute("SELECT ts FROM slack_seen WHERE team = ? AND channel = ?", [team, channel]).fetchone()
        return str(row[0]) if row else None

    def mark_seen(self, team: str, channel: str, ts: str) -> None:
        """Move the channel's position forward (never back)."""
        current = self.last_seen(team, channel)
        if current is not None and ts_value(current) >= ts_value(ts):
            return
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO slack_seen (team, channel, ts) VALUES (?, ?, ?) "
                "ON CONFLICT (team, channel) DO UPDATE SET ts = excluded.ts",
                [team, channel, ts],
            )

    # --------------------------------------------------------------- threads

    def touch_thread(self, team: str, channel: str, thread_ts: str, ts: str) -> None:
        """Remember a thread and its latest known activity."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO slack_threads (team, channel, thread_ts, last_ts) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (team, channel, thread_ts) DO UPDATE SET last_ts = CASE "
                "WHEN CAST(excluded.last_ts AS REAL) > CAST(last_ts AS REAL) THEN excluded.last_ts ELSE last_ts END",
                [team, channel, thread_ts, ts],
            )

    def recent_threads(self, team: str, channel: str, limit: int, since: float = 0.0) -> list[str]:
        """The ``limit`` most recently active known threads of a channel, active after ``since``."""
        rows = self.db.execute(
            "SELECT thread_ts FROM slack_threads WHERE team = ? AND channel = ? AND CAST(last_ts AS REAL) >= ? "
            "ORDER BY CAST(last_ts AS REAL) DESC LIMIT ?",
            [team, channel, since, limit],
        ).fetchall()
        return [str(r[0]) for r in rows]
