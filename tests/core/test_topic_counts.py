"""The per-day topic counts stay equal to a recount through every change of a message, and the
hot-topics report read from them says exactly what the report computed from every message said."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.events import ChannelRef
from bot.i18n import default_catalog
from bot.model import StoredMessage
from bot.report import DAY, Reports, TopicStat
from bot.richtext import plain, to_plain
from bot.store import Database, Store, open_database
from bot.store.counts import expected_counts_sql, recount
from bot.store.sql import SQLITE
from bot.topics import default_tagger
from testing.clock import ManualClock
from testing.messages import add_message

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

TOPICS = ["housing", "climate", "ai", "budget"]
CHANNELS = [
    (ChannelRef("fake", "s", "boston"), "Boston", "US"),
    (ChannelRef("fake", "s", "gdl"), "Guadalajara", "MX"),
    (ChannelRef("fake", "s", "recife"), "Recife", "BR"),
    (ChannelRef("fake", "s", "lima"), "Lima", "PE"),
    (ChannelRef("fake", "s", "nowhere"), "Nowhere", ""),
]
START = 1_750_000_000.0
TAGGER = default_tagger()
CATALOG = default_catalog()


@dataclass
class History:
    store: Store
    clock: ManualClock
    questions: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


Opener = Callable[[], Database]
# The PostgreSQL database is the test's, emptied per example (``fresh``): sharing it is the point.
SLOW_AND_SHARED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@pytest.fixture
def fresh(backend: str, request: pytest.FixtureRequest) -> Iterator[Opener]:
    """An empty database per call: in memory on SQLite; on PostgreSQL one database emptied again
    (a Hypothesis example each, too many to create a database for every one)."""
    if backend == SQLITE:
        yield lambda: open_database(":memory:")
        return
    from testing.postgres import empty

    db = open_database(request.getfixturevalue("postgres_url"))

    def emptied() -> Database:
        empty(db)
        return db

    yield emptied
    db.close()


def new_history(fresh: Opener) -> History:
    clock = ManualClock(START)
    store = Store(fresh(), clock)
    store.create_network("demo", "CODE")
    store.create_network("other", "CODE2")
    return History(store, clock)


def kept(db: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute("select * from topic_day_counts order by 1, 2, 3, 4, 5, 6, 7").fetchall()]


def recounted(db: Database) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute(expected_sql(db)).fetchall()]


def expected_sql(db: Database) -> str:
    if db.dialect == SQLITE:
        return expected_counts_sql()
    from bot.store.postgres_schema import EXPECTED_COUNTS

    return EXPECTED_COUNTS


# One step of a history: (operation, a few numbers it picks its targets with).
STEP = st.tuples(
    st.sampled_from(["post", "post", "post", "reply", "reply", "edit", "delete", "retag", "erase", "wait"]),
    st.integers(0, 10_000),
    st.lists(st.sampled_from(TOPICS), max_size=3),
)


def play(h: History, steps: list[tuple[str, int, list[str]]]) -> None:
    for op, pick, topics in steps:
        if op == "wait":
            h.clock.now += pick * 37.0  # up to ~4 days, landing anywhere in a day
            continue
        if op in ("post", "reply") and (op == "post" or not h.questions):
            ref, city, country = CHANNELS[pick % len(CHANNELS)]
            kind = ["question", "mirror", "notice"][pick % 3]
            network = "demo" if pick % 7 else "other"
            text = f"question {len(h.ids)}"
            mid = add_message(
                h.store,
                network,
                ref,
                text,
                kind=kind,
                topics=topics,
                city=city,
                country=country,
                platform_id=str(len(h.ids)),
            )
            h.ids.append(mid)
            if kind != "notice":
                h.questions.append(mid)
        elif op == "reply":
            root = h.questions[pick % len(h.questions)]
            ref, city, country = CHANNELS[(pick // 3) % len(CHANNELS)]
            parent = h.store.message(root)
            assert parent is not None
            mid = add_message(
                h.store,
                parent.network,
                ref,
                f"reply {len(h.ids)}",
                "es",
                kind="reply",
                root_id=root,
                topics=parent.topics if pick % 4 else topics,
                city=city,
                country=country,
                platform_id=str(len(h.ids)),
            )
            h.ids.append(mid)
        elif h.ids:
            target = h.ids[pick % len(h.ids)]
            if op == "edit":
                h.store.edit_message(target, plain(f"edited {pick}"), "pt", topics)
            elif op == "delete":
                h.store.delete_message(target)
            elif op == "retag":
                h.store.set_message_topics(target, topics)
            elif op == "erase":
                h.store.erase_messages([target])


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW_AND_SHARED)
@given(st.lists(STEP, max_size=60))
def test_counts_equal_a_recount_through_store_edit_delete_retag_and_erase(fresh: Opener, steps: list[Any]) -> None:
    h = new_history(fresh)
    play(h, steps)
    assert kept(h.store.db) == recounted(h.store.db)


def test_the_migration_backfills_counts_of_an_existing_database(fresh: Opener) -> None:
    h = new_history(fresh)
    play(h, [("post", i, TOPICS[: i % 3]) for i in range(20)] + [("reply", i, ["ai"]) for i in range(20)])
    before = kept(h.store.db)
    h.store.db.execute("delete from topic_day_counts")
    if h.store.db.dialect == SQLITE:
        recount(h.store.db)
    else:  # what the PostgreSQL step m007 runs
        h.store.db.execute(f"insert into topic_day_counts {expected_sql(h.store.db)}")
    assert kept(h.store.db) == before and before


def old_hot_topics(reports: Reports, network: str | None, days: int) -> list[TopicStat]:
    """The report as it was computed before the counts: from every message of both windows."""
    now = reports.clock()
    current = reports.messages(network, now - days * DAY, now + 1)
    previous = reports.messages(network, now - 2 * days * DAY, now - days * DAY)
    prev_counts = Counter(t for m in previous for t in m.topics)
    by_topic: dict[str, list[StoredMessage]] = defaultdict(list)
    for m in current:
        for t in m.topics:
            by_topic[t].append(m)
    replies = Counter(m.root_id for m in current if m.root_id is not None)
    roots: dict[int, StoredMessage] = {m.id: m for m in current if m.root_id is None}
    stats: list[TopicStat] = []
    for slug, msgs in by_topic.items():
        regions = Counter(reports.regions.get(m.country, "other") for m in msgs if m.country)
        questions = sorted({m.root_id or m.id for m in msgs}, key=lambda qid: (-replies.get(qid, 0), -qid))
        top: list[tuple[int, str, int]] = []
        for qid in questions:
            root = roots.get(qid) or reports.store.message(qid)
            if root is None or root.deleted or slug not in root.topics:
                continue
            top.append((qid, to_plain(root.text).replace("\n", " ")[:140], replies.get(qid, 0)))
            if len(top) == 3:
                break
        stats.append(
            TopicStat(
                slug=slug,
                messages=len(msgs),
                cities=len({m.city for m in msgs}),
                previous=prev_counts.get(slug, 0),
                regions=tuple(sorted(regions.items(), key=lambda kv: -kv[1])),
                top_questions=tuple(top),
            )
        )
    stats.sort(key=lambda s: (-s.messages, -s.cities, s.slug))
    return stats


def without_tied_region_order(stats: list[TopicStat]) -> list[Any]:
    """Regions with equal counts may list in another order (first thread, not first message, breaks ties)."""
    return [(s.slug, s.messages, s.cities, s.previous, sorted(s.regions), s.top_questions) for s in stats]


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW_AND_SHARED)
@given(st.lists(STEP, max_size=80), st.integers(0, 86_399), st.sampled_from([1, 2, 7, 30]), st.sampled_from([1, 2, 10]))
def test_report_from_counts_matches_the_report_from_every_message(
    fresh: Opener, steps: list[Any], offset: int, days: int, first_threads: int
) -> None:
    h = new_history(fresh)
    play(h, steps)
    h.clock.now += offset  # the window starts and ends anywhere within a day
    reports = Reports(h.store, TAGGER, CATALOG, h.clock)
    for network in ("demo", None):
        new = reports.hot_topics(network, days)
        old = old_hot_topics(reports, network, days)
        assert without_tied_region_order(new) == without_tied_region_order(old)
        for n, o in zip(new, old, strict=True):
            counts = [c for _, c in o.regions]
            if len(set(counts)) == len(counts):
                assert n.regions == o.regions


def test_digest_lists_the_same_unanswered_questions_as_before(fresh: Opener) -> None:
    h = new_history(fresh)
    play(h, [("post", i, ["housing"]) for i in range(15)] + [("reply", 3 * i, []) for i in range(4)])
    reports = Reports(h.store, TAGGER, CATALOG, h.clock)
    now = h.clock()
    every = reports.messages("demo", now - 7 * DAY, now + 1)
    expected = [m.id for m in every if m.root_id is None and not h.store.replies(m.id)][:10]
    assert [m.id for m in reports.unanswered("demo", now - 7 * DAY, now + 1)] == expected
    assert expected


def test_busiest_threads_count_replies_from_whole_days_and_partial_days_together(fresh: Opener) -> None:
    h = new_history(fresh)
    day = math.floor(START / DAY) * DAY
    ref, city, country = CHANNELS[0]

    def post(at: float, root: int | None = None) -> int:
        h.clock.now = at
        return h.store.add_message(
            network="demo",
            channel=ref,
            platform_id=f"p{at}",
            root_id=root,
            kind="reply" if root else "question",
            author_id="u",
            author_name="Ana",
            author_avatar=None,
            city=city,
            country=country,
            text=plain("q"),
            lang="en",
            topics=["housing"],
        )

    busiest = post(day - 3 * DAY)
    second = post(day - 3 * DAY + 10)
    for i in range(5):
        post(day - 3 * DAY + 100 + i, busiest)
    for i in range(3):
        post(day - 3 * DAY + 200 + i, second)
    today = [post(day + 60 * i) for i in range(1, 4)]  # in the window's partial last day
    for i, q in enumerate(today):
        post(day + 600 + i, q)
    h.clock.now = day + 3600
    reports = Reports(h.store, TAGGER, CATALOG, h.clock)
    [stat] = reports.hot_topics("demo", 7)
    assert [(q, n) for q, _text, n in stat.top_questions] == [(busiest, 5), (second, 3), (today[-1], 1)]
