"""PostgreSQL: transactions that change a thread's counts and queue deliveries take their locks in one order.

A relay stores a message (its thread's per-day count rows) and then queues its copies (the network's
outbox order lock); an erasure with ``--copies`` changes counts and queues deletes too. Taken in two
orders these locks deadlocked: PostgreSQL killed one transaction with SQLSTATE 40P01. Every count
change now takes the network's lock first, so whichever transaction comes second waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.events import ChannelRef
from bot.model import Channel
from bot.retention import erase_author
from bot.richtext import plain
from bot.store import SEND, Store, open_database
from bot.store.postgres import PostgresDatabase
from bot.store.sql import scalar
from testing.messages import add_message
from testing.polling import wait_until

pytestmark = pytest.mark.postgres

BOSTON = ChannelRef("fake", "s", "boston")
GDL = ChannelRef("fake", "s", "gdl")
ITERATIONS = 150


@pytest.fixture
def stores(postgres_url: str) -> Iterator[tuple[Store, Store]]:
    """Two replicas' stores (two connections) on one database with one linked network."""
    relaying, erasing = Store(open_database(postgres_url)), Store(open_database(postgres_url))
    relaying.create_network("demo")
    for ref, city in ((BOSTON, "Boston"), (GDL, "Guadalajara")):
        relaying.link_channel(Channel(ref, "demo", city, "en", country="US"), "config")
    yield relaying, erasing
    relaying.db.close()
    erasing.db.close()


def relayed_reply(store: Store, question: int, author: str) -> int:
    """What :meth:`bot.relay.Relay._store` writes for a reply: the message, then its copy and outbox row."""
    message = store.add_message(
        network="demo",
        channel=BOSTON,
        platform_id=None,
        root_id=question,
        kind="reply",
        author_id=author,
        author_name="Ana",
        author_avatar=None,
        city="Boston",
        country="US",
        text=plain("same here"),
        lang="en",
        topics=("housing",),
    )
    copy = store.add_copy(message, GDL, "es")
    store.enqueue(GDL, copy, SEND)
    return message


def posted_reply(store: Store, question: int, author: str) -> str:
    """A reply by ``author``, delivered (so erasing them queues the deletion of its copy); who to erase."""
    with store.transaction():
        message = relayed_reply(store, question, author)
    copy = store.copies_of(message)[0]
    store.record_post(copy.id, GDL, 0, f"p{message}", None)
    return f"fake:s/{author}"  # platform:space/user, as ``agora erase --author`` takes it


def waits_for_a_lock(store: Store, other: Store) -> bool:
    """Whether ``other``'s connection is waiting for a lock (looked up through ``store``'s)."""
    assert isinstance(other.db, PostgresDatabase)
    pid = other.db.conn.info.backend_pid
    return bool(scalar(store.db, "select wait_event_type = 'Lock' from pg_stat_activity where pid = ?", [pid]))


def test_an_erasure_waits_for_a_relay_holding_the_threads_counts_instead_of_deadlocking(
    stores: tuple[Store, Store],
) -> None:
    relaying, erasing = stores
    question = add_message(relaying, "demo", BOSTON, "rent caps?", topics=["housing"])
    victim = posted_reply(relaying, question, "u-erased")
    with ThreadPoolExecutor(1) as pool:
        with relaying.transaction():
            message = relaying.add_message(
                network="demo",
                channel=BOSTON,
                platform_id=None,
                root_id=question,
                kind="reply",
                author_id="u-other",
                author_name="Bo",
                author_avatar=None,
                city="Boston",
                country="US",
                text=plain("same here"),
                lang="en",
                topics=("housing",),
            )  # the thread's count rows are this transaction's now
            erasure = pool.submit(erase_author, erasing, victim, copies=True)
            wait_until(lambda: waits_for_a_lock(relaying, erasing) or erasure.done(), "the erasure to wait")
            copy = relaying.add_copy(message, GDL, "es")
            relaying.enqueue(GDL, copy, SEND)  # the old lock order deadlocked here (or in the erasure)
        assert erasure.result(timeout=30).copies_queued == 1
    deleted = scalar(relaying.db, "select count(*) from messages where deleted = 1")
    assert deleted == 1


def test_two_erasures_of_replies_in_the_same_two_threads_in_opposite_orders_wait_instead_of_deadlocking(
    stores: tuple[Store, Store],
) -> None:
    """Each erasure changes two threads' counts; by id, one meets thread X first, the other thread Y."""
    first, second = stores
    x = add_message(first, "demo", BOSTON, "rent caps?", topics=["housing"])
    y = add_message(first, "demo", BOSTON, "heat plans?", topics=["climate"])
    in_x, in_y = relayed_reply(first, x, "u-a"), relayed_reply(first, y, "u-b")
    later_in_y, later_in_x = relayed_reply(first, y, "u-a"), relayed_reply(first, x, "u-b")
    with ThreadPoolExecutor(1) as pool:
        with first.transaction():
            first.delete_message(in_x)  # what queue_copy_deletes does for u-a, message by message
            other = pool.submit(second.queue_copy_deletes, [in_y, later_in_x])  # u-b: thread Y, then X
            wait_until(lambda: waits_for_a_lock(first, second) or other.done(), "the other erasure to wait")
            first.delete_message(later_in_y)  # the old lock order deadlocked here
        other.result(timeout=30)
    counted = scalar(first.db, "select sum(messages) from topic_day_counts where topic = ''")
    assert counted == 2  # the two questions


def test_relays_and_erasures_racing_on_one_thread_never_deadlock(stores: tuple[Store, Store]) -> None:
    """Many rounds of a reply relayed while an earlier reply of the same thread is erased."""
    relaying, erasing = stores
    question = add_message(relaying, "demo", BOSTON, "rent caps?", topics=["housing"])
    start = threading.Barrier(2, timeout=30)

    def relay_rounds() -> None:
        for _ in range(ITERATIONS):
            start.wait()
            with relaying.transaction():
                relayed_reply(relaying, question, "u-other")

    def erase_rounds() -> None:
        for round_ in range(ITERATIONS):
            victim = posted_reply(erasing, question, f"u-erased-{round_}")
            start.wait()
            erase_author(erasing, victim, copies=True)

    def rounds(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException:
            start.abort()  # the other side stops waiting for a partner that is gone
            raise

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(rounds, relay_rounds), pool.submit(rounds, erase_rounds)]
        failures = [exc for f in futures if (exc := f.exception(timeout=300)) is not None]
    causes = [exc for exc in failures if not isinstance(exc, threading.BrokenBarrierError)]
    if failures:
        raise (causes or failures)[0]  # the deadlock, not the partner left waiting at the barrier
    counted = scalar(relaying.db, "select sum(messages) from topic_day_counts where topic = ''")
    assert counted == 1 + ITERATIONS  # the question and the relayed replies; every erased reply is uncounted
