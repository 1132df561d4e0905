"""Per-day message counts by topic, channel and thread, kept by triggers.

The hot-topics report and the digest need, per topic, how many relayed
messages there were, in which cities and regions, and which threads were
busiest. Counting those from the messages of a 30-day window costs as much as
the window holds; these counts cost at most a few hundred rows a day.

A row counts the relayed, undeleted messages of one UTC day in one channel and
one thread (``question_id``, the thread's root) tagged with ``topic``; the
empty topic counts every such message, whatever its topics, and ``replies``
how many of them answer the thread. SQLite triggers keep the table right in
the same transaction as the message row changes, so no code path (relay,
edit, delete, tag correction, erasure, retention) can forget to update it.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass

from sqlite_utils import Database

DAY_SECONDS = 86400
COUNTED_KINDS = "('question', 'reply', 'mirror')"
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
    return f"{row}.deleted = 0 and {row}.kind in {COUNTED_KINDS}"


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


def create_counts(db: Database) -> None:
    """The table, its triggers and the counts of the messages already stored."""
    db.execute(_CREATE)
    db.execute("create index topic_day_counts_day on topic_day_counts (day)")
    for trigger in _TRIGGERS:
        db.execute(trigger)
    recount(db)


def recount(db: Database) -> None:
    """Rebuild every count from the messages (the migration's backfill; tests compare against it)."""
    db.execute("delete from topic_day_counts")
    db.execute(expected_counts_sql("insert into topic_day_counts"))


def expected_counts_sql(prefix: str = "") -> str:
    """The counts computed from scratch, as a query (prefixed with an insert for the backfill)."""
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


@dataclass(frozen=True, slots=True)
class ThreadCount:
    """Relayed messages of one topic ('' for all) in one channel and thread over a window."""

    topic: str
    channel: str
    city: str
    country: str
    question_id: int
    messages: int
    replies: int


def window_counts(db: Database, network: str, since: float, until: float) -> list[ThreadCount]:
    """Counts of messages created in ``[since, until)``: whole UTC days from the table, the partial
    days at either end from the messages themselves (at most two days of rows)."""
    first_day = math.ceil(since / DAY_SECONDS)
    end_day = math.floor(until / DAY_SECONDS)
    totals: Counter[tuple[str, str, str, str, int]] = Counter()
    replies: Counter[tuple[str, str, str, str, int]] = Counter()
    if first_day < end_day:
        rows = db.execute(
            "select topic, channel, city, country, question_id, sum(messages), sum(replies) from topic_day_counts "
            "where network = ? and day >= ? and day < ? group by topic, channel, city, country, question_id",
            [network, first_day, end_day],
        ).fetchall()
        for topic, channel, city, country, question, n, r in rows:
            totals[(topic, channel, city, country, question)] += n
            replies[(topic, channel, city, country, question)] += r
        edges = [(since, first_day * DAY_SECONDS), (end_day * DAY_SECONDS, until)]
    else:
        edges = [(since, until)]
    for start, end in edges:
        if start >= end:
            continue
        rows = db.execute(
            "select id, root_id, channel, city, country, topics from messages "
            f"where network = ? and created_at >= ? and created_at < ? and {_counted('messages')}",
            [network, start, end],
        ).fetchall()
        for message_id, root_id, channel, city, country, topics in rows:
            question = root_id if root_id is not None else message_id
            for topic in ["", *json.loads(topics or "[]")]:
                key = (topic, channel, city or "", country or "", question)
                totals[key] += 1
                replies[key] += root_id is not None
    return [ThreadCount(*key, totals[key], replies[key]) for key in totals]
