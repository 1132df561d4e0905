"""Per-day message counts by topic, channel and thread, kept by triggers.

The hot-topics report and the digest need, per topic, how many relayed
messages there were, in which cities and regions, and which threads were
busiest. Counting those from the messages of a 30-day window costs as much as
the window holds; these counts cost at most a few hundred rows a day.

A row counts the relayed, undeleted messages of one UTC day in one channel and
one thread (``question_id``, the thread's root) tagged with ``topic``; the
empty topic counts every such message, whatever its topics, and ``replies``
how many of them answer the thread. Triggers keep the table right in the
same transaction as the message row changes, so no code path (relay, edit,
delete, tag correction, erasure, retention) can forget to update it. The
triggers and the backfill below are SQLite's (its schema steps run them);
PostgreSQL's are in its own schema steps. :class:`Window` reads in portable SQL.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Protocol

from bot.store.sql import Database

DAY_SECONDS = 86400
KEY = "network, day, topic, channel, city, country, question_id"

_CREATE = """
create table topic_day_counts (
    network text not null,
    day integer not null,
    topic text not null,
    channel text not null,
    city text not null,
    country text not null,
    question_id integer not null,
    messages integer not null,
    replies integer not null,
    primary key (network, day, topic, channel, city, country, question_id)
) without rowid
"""


def _change(row: str, sign: int) -> str:
    """Add (``sign`` 1) or take away (-1) the contribution of message ``row`` (NEW or OLD)."""
    return f"""
    insert into topic_day_counts ({KEY}, messages, replies)
    select {row}.network, cast({row}.created_at / {DAY_SECONDS} as integer), t.topic, {row}.channel,
           coalesce({row}.city, ''), coalesce({row}.country, ''), coalesce({row}.root_id, {row}.id),
           {sign}, {sign} * ({row}.root_id is not null)
    from (select '' as topic union all select value from json_each(coalesce({row}.topics, '[]'))) t
    where true
    on conflict ({KEY}) do update set messages = messages + excluded.messages, replies = replies + excluded.replies;
    """


def _counted(row: str) -> str:
    """Relayed and not deleted: every kind but the bot's own notices (report.RELAYED_KINDS, as search has it)."""
    return f"{row}.deleted = 0 and {row}.kind != 'notice'"


def _prune(row: str) -> str:
    """Drop the rows of ``row``'s day and channel that fell to zero (only that day's rows are read)."""
    return f"""
    delete from topic_day_counts where network = {row}.network
      and day = cast({row}.created_at / {DAY_SECONDS} as integer) and messages = 0 and replies = 0;
    """


_TRIGGERS = [
    f"""create trigger topic_day_counts_insert after insert on messages when {_counted("new")}
    begin {_change("new", 1)} end""",
    f"""create trigger topic_day_counts_remove after update of network, channel, root_id, kind, city, country,
    topics, created_at, deleted on messages when {_counted("old")}
    begin {_change("old", -1)} {_prune("old")} end""",
    f"""create trigger topic_day_counts_add after update of network, channel, root_id, kind, city, country,
    topics, created_at, deleted on messages when {_counted("new")}
    begin {_change("new", 1)} end""",
    f"""create trigger topic_day_counts_delete after delete on messages when {_counted("old")}
    begin {_change("old", -1)} {_prune("old")} end""",
]


class Executes(Protocol):
    """A SQLite connection during a schema step (sqlite-utils') or through the seam."""

    def execute(self, sql: str) -> Any: ...


def create_counts(db: Executes) -> None:
    """The table, its triggers and the counts of the messages already stored (SQLite)."""
    db.execute(_CREATE)
    db.execute("create index topic_day_counts_day on topic_day_counts (day)")
    for trigger in _TRIGGERS:
        db.execute(trigger)
    recount(db)


def recount(db: Executes) -> None:
    """Rebuild every count from the messages (the SQLite migration's backfill; tests compare against it)."""
    db.execute("delete from topic_day_counts")
    db.execute(expected_counts_sql("insert into topic_day_counts"))


def expected_counts_sql(prefix: str = "") -> str:
    """The counts computed from scratch, as a SQLite query (prefixed with an insert for the backfill)."""
    return f"""{prefix}
    select m.network, cast(m.created_at / {DAY_SECONDS} as integer) day, t.topic, m.channel,
           coalesce(m.city, '') city, coalesce(m.country, '') country, coalesce(m.root_id, m.id) question_id,
           count(*) messages, sum(m.root_id is not null) replies
    from messages m
    join (select id, '' as topic from messages
          union all select messages.id, j.value from messages, json_each(coalesce(messages.topics, '[]')) j) t
      on t.id = m.id
    where {_counted("m")}
    group by 1, 2, 3, 4, 5, 6, 7
    order by 1, 2, 3, 4, 5, 6, 7"""


Place = tuple[str, str, str]  # (topic, city, country)
ByThread = tuple[int, int]  # (question id, replies in the window)


class Window:
    """The counts of relayed messages created in ``[since, until)`` in one network.

    Whole UTC days are summed by the database from ``topic_day_counts``; the partial
    days at either end (at most two days of messages) are read from the
    messages themselves. Each figure is read only when asked for.
    """

    def __init__(self, db: Database, network: str, since: float, until: float) -> None:
        self.db = db
        first_day = math.ceil(since / DAY_SECONDS)
        end_day = math.floor(until / DAY_SECONDS)
        self.whole_days = first_day < end_day
        self.params = [network, first_day, end_day]  # for "network = ? and day >= ? and day < ?"
        edges = (
            [(since, first_day * DAY_SECONDS), (end_day * DAY_SECONDS, until)] if self.whole_days else [(since, until)]
        )
        self.edge_places: Counter[Place] = Counter()
        self.edge_first: dict[Place, int] = {}
        self.edge_replies: Counter[int] = Counter()
        self.edge_topics: dict[int, set[str]] = {}
        for start, end in edges:
            if start < end:
                self._add_edge(network, start, end)
        self._threads: dict[str, list[ByThread]] | None = None

    def _add_edge(self, network: str, start: float, end: float) -> None:
        rows = self.db.execute(
            "select id, root_id, city, country, topics from messages "
            f"where network = ? and created_at >= ? and created_at < ? and {_counted('messages')}",
            [network, start, end],
        ).fetchall()
        for message_id, root_id, city, country, topics in rows:
            question = root_id if root_id is not None else message_id
            self.edge_replies[question] += root_id is not None
            seen = self.edge_topics.setdefault(question, set())
            for topic in json.loads(topics or "[]"):
                seen.add(topic)
                key = (topic, city or "", country or "")
                self.edge_places[key] += 1
                self.edge_first[key] = min(self.edge_first.get(key, question), question)

    def topics(self) -> Counter[str]:
        """Messages per topic."""
        out: Counter[str] = Counter()
        if self.whole_days:
            for topic, n in self.db.execute(
                "select topic, sum(messages) from topic_day_counts "
                "where network = ? and day >= ? and day < ? and topic != '' group by topic",
                self.params,
            ).fetchall():
                out[topic] += n
        for (topic, _city, _country), n in self.edge_places.items():
            out[topic] += n
        return out

    def places(self) -> tuple[Counter[Place], dict[Place, int]]:
        """Messages per topic and place, and the first thread seen in each (it orders regions that tie)."""
        places = Counter(self.edge_places)
        first = dict(self.edge_first)
        if self.whole_days:
            for topic, city, country, n, question in self.db.execute(
                "select topic, city, country, sum(messages), min(question_id) from topic_day_counts "
                "where network = ? and day >= ? and day < ? and topic != '' "
                "group by topic, city, country",
                self.params,
            ).fetchall():
                places[(topic, city, country)] += n
                first[(topic, city, country)] = min(first.get((topic, city, country), question), question)
        return places, first

    def threads(self, topic: str) -> list[ByThread]:
        """The threads with messages on ``topic`` in the window, most replies first (then newest)."""
        if self._threads is None:
            self._threads = self._load_threads()
        return self._threads.get(topic, [])

    def _load_threads(self) -> dict[str, list[ByThread]]:
        replies: Counter[int] = Counter(self.edge_replies)
        members: dict[str, set[int]] = {}
        for question, topics in self.edge_topics.items():
            for topic in topics:
                members.setdefault(topic, set()).add(question)
        if self.whole_days:
            for question, topic, n in self.db.execute(
                "select question_id, topic, sum(replies) from topic_day_counts "
                "where network = ? and day >= ? and day < ? group by question_id, topic",
                self.params,
            ).fetchall():
                if topic:
                    members.setdefault(topic, set()).add(question)
                else:
                    replies[question] += n
        return {
            topic: sorted(((q, replies[q]) for q in questions), key=lambda qn: (-qn[1], -qn[0]))
            for topic, questions in members.items()
        }
