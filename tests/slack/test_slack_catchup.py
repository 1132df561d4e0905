"""Catch-up: what was posted in linked channels while Agora was down is relayed once, in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from bot.events import ChannelRef, IncomingMessage, OutgoingMessage
from bot.richtext import plain
from testing.slack_server import TEAM, FakeSlack, event_callback, load_payload, message_event
from tests.slack.conftest import BOSTON, LIMA, AdapterFactory


def texts(events: Sequence[object]) -> list[str]:
    return ["".join(getattr(s, "text", "") for s in e.text) for e in events if isinstance(e, IncomingMessage)]


async def test_first_start_replays_nothing(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    await fake.user_posts(BOSTON, "U0ANA", "posted before Agora was ever linked", deliver=False)
    adapter, sink = await make_adapter()
    assert sink.events == []
    assert adapter.tables.last_seen(TEAM, BOSTON) is not None


async def test_messages_and_replies_posted_while_down(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    first, sink1 = await make_adapter()
    question = await fake.user_posts(BOSTON, "U0ANA", "live question")
    copy_ref = await first.send(
        OutgoingMessage(ChannelRef("slack", TEAM, LIMA), plain("pregunta copiada"), nonce="n-1", starts_thread=True)
    )
    await fake.user_posts(LIMA, "U0LUIS", "live in Lima")
    await sink1.wait(2)
    await first.stop()

    # Agora is down: people keep talking
    down1 = await fake.user_posts(BOSTON, "U0LUIS", "reply to the live question", thread_ts=question, deliver=False)
    down2 = await fake.user_posts(
        LIMA, "U0LUIS", "respuesta en el hilo de la copia", thread_ts=copy_ref.id, deliver=False
    )
    down3 = await fake.user_posts(BOSTON, "U0BIA", "new question while down", deliver=False)
    down4 = await fake.user_posts(BOSTON, "U0ANA", "answer to the new question", thread_ts=down3, deliver=False)
    fake.channels[BOSTON].messages.append(dict(load_payload("bot_message"), ts=fake._next_ts()))
    await fake.user_posts(LIMA, "U0LUIS", "otra pregunta", deliver=False)

    second, sink2 = await make_adapter()
    events = [e for e in sink2.events if isinstance(e, IncomingMessage)]  # catch-up ran inside start()
    assert sorted(texts(events)) == sorted(
        [
            "reply to the live question",
            "respuesta en el hilo de la copia",
            "new question while down",
            "answer to the new question",
            "otra pregunta",
        ]
    )
    by_id = {e.id: e for e in events}
    assert by_id[down1].thread_id == question
    assert by_id[down2].thread_id == copy_ref.id
    assert by_id[down3].thread_id is None and by_id[down4].thread_id == down3
    for channel in (BOSTON, LIMA):  # oldest first within each channel
        ids = [e.id for e in events if e.channel.channel == channel]
        assert ids == sorted(ids, key=float)
    assert all(e.event_id is None for e in events)
    await second.stop()

    _, sink3 = await make_adapter()  # a second restart relays nothing again
    assert sink3.events == []
    await fake.user_posts(BOSTON, "U0ANA", "live again")
    assert texts(await sink3.wait(1)) == ["live again"]


async def test_catch_up_is_bounded_by_catchup_hours(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    first, _ = await make_adapter(channels=[])
    first.tables.mark_seen(TEAM, BOSTON, f"{time.time() - 72 * 3600:.6f}")  # last seen three days ago
    await first.stop()
    await fake.user_posts(BOSTON, "U0ANA", "two days old", ts=f"{time.time() - 48 * 3600:.6f}", deliver=False)
    await fake.user_posts(BOSTON, "U0ANA", "an hour old", ts=f"{time.time() - 3600:.6f}", deliver=False)
    _, sink = await make_adapter(catchup_hours=24)
    assert texts(sink.events) == ["an hour old"]


async def test_live_duplicate_of_a_caught_up_message_is_dropped(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    first, _ = await make_adapter()
    await first.stop()
    ts = await fake.user_posts(BOSTON, "U0ANA", "sent while down", deliver=False)
    _, sink = await make_adapter()
    assert texts(sink.events) == ["sent while down"]
    # Slack delivers the same message late (its own retry after the outage)
    await fake.deliver_event(event_callback(message_event(BOSTON, "U0ANA", "sent while down", ts)))
    await fake.user_posts(BOSTON, "U0ANA", "marker")
    assert texts(await sink.wait(2)) == ["sent while down", "marker"]


async def test_a_message_the_core_never_stored_is_caught_up_after_a_crash(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    first, sink1 = await make_adapter()
    never = asyncio.Event()

    async def dies_in_the_core(_event: object) -> None:  # the process is killed while the core tags it
        await never.wait()

    sink1.hook = dies_in_the_core
    await fake.user_posts(BOSTON, "U0ANA", "posted just before the crash")
    await sink1.wait(1)
    await first.stop()
    _, sink2 = await make_adapter()
    assert texts(sink2.events) == ["posted just before the crash"]


async def test_catch_up_off(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    first, _ = await make_adapter()
    await first.stop()
    await fake.user_posts(BOSTON, "U0ANA", "sent while down", deliver=False)
    _, sink = await make_adapter(catchup_hours=0)
    assert sink.events == []


async def test_catch_up_waits_out_a_short_rate_limit(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    first, _ = await make_adapter()
    await first.stop()
    await fake.user_posts(BOSTON, "U0ANA", "sent while down", deliver=False)
    fake.fail("conversations.history", "ratelimited", retry_after=0.01)
    _, sink = await make_adapter()
    assert texts(sink.events) == ["sent while down"]
