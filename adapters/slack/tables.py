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

from adapters.slack import schema
from bot.store.sql import Database, scalar, upsert

THREAD_DAYS = 90
# Slack ts ("1700000000.000200") compared as numbers; a double keeps their microseconds.
TS = "cast({} as double precision)"


def ts_value(ts: str) -> Decimal:
    """A Slack ts as a number; unparsable ts sort first rather than crash."""
    try:
        return Decimal(ts)
    except (InvalidOperation, ValueError):
        return Decimal(0)


class SlackTables:
    """Dedupe keys, last-seen positions and known threads."""

    def __init__(self, db: Database, *, keep_seconds: float = 3 * 86400, prune_every: int = 500) -> None:
        self.db = db
        self.keep_seconds = keep_seconds
        self.prune_every = prune_every
        self._inserts = 0
        schema.apply(db)

    # ---------------------------------------------------------------- dedupe

    def first_time(self, key: str) -> bool:
        """Record ``key``; True only the first time it is seen."""
        cursor = self.db.execute(
            "insert into slack_events (key, at) values (?, ?) on conflict (key) do nothing", [key, time.time()]
        )
        self._inserts += 1
        if self._inserts % self.prune_every == 0:
            self.prune()
        return bool(cursor.rowcount)

    def seen_key(self, key: str) -> bool:
        """Whether ``key`` was recorded, without recording it."""
        return scalar(self.db, "select 1 from slack_events where key = ?", [key]) is not None

    def prune(self, now: float | None = None) -> None:
        """Forget keys older than ``keep_seconds`` (Slack stops retrying after minutes) and long-quiet threads."""
        now = now if now is not None else time.time()
        with self.db.transaction():
            self.db.execute("delete from slack_events where at < ?", [now - self.keep_seconds])
            self.db.execute(f"delete from slack_threads where {TS.format('last_ts')} < ?", [now - THREAD_DAYS * 86400])

    def count_keys(self) -> int:
        return int(scalar(self.db, "select count(*) from slack_events"))

    # ------------------------------------------------------------------ seen

    def last_seen(self, team: str, channel: str) -> str | None:
        ts = scalar(self.db, "select ts from slack_seen where team = ? and channel = ?", [team, channel])
        return None if ts is None else str(ts)

    def mark_seen(self, team: str, channel: str, ts: str) -> None:
        """Move the channel's position forward (never back)."""
        with self.db.transaction():
            current = self.last_seen(team, channel)
            if current is None or ts_value(current) < ts_value(ts):
                upsert(self.db, "slack_seen", {"team": team, "channel": channel, "ts": ts}, key=["team", "channel"])

    # --------------------------------------------------------------- threads

    def touch_thread(self, team: str, channel: str, thread_ts: str, ts: str) -> None:
        """Remember a thread and its latest known activity."""
        self.db.execute(
            "insert into slack_threads (team, channel, thread_ts, last_ts) values (?, ?, ?, ?) "
            "on conflict (team, channel, thread_ts) do update set last_ts = excluded.last_ts "
            f"where {TS.format('excluded.last_ts')} > {TS.format('slack_threads.last_ts')}",
            [team, channel, thread_ts, ts],
        )

    def recent_threads(self, team: str, channel: str, limit: int, since: float = 0.0) -> list[str]:
        """The ``limit`` most recently active known threads of a channel, active after ``since``."""
        last = TS.format("last_ts")
        rows = self.db.execute(
            f"select thread_ts from slack_threads where team = ? and channel = ? and {last} >= ? "
            f"order by {last} desc limit ?",
            [team, channel, since, limit],
        ).fetchall()
        return [str(r[0]) for r in rows]
