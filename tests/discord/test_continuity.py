"""Staying whole across trouble: gateway drops, downtime (catch-up) and crashes mid-send."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from adapters.discord import DiscordAdapter
from bot.events import IncomingMessage, OutgoingMessage
from bot.richtext import Text, plain
from tests.discord.conftest import Sink, World
from tests.discord.test_adapter import ANA_LIMA, outgoing, posts

Connect = Callable[..., Any]


def texts(sink: Sink) -> list[str]:
    return [
        "".join(s.text for s in e.text if isinstance(s, Text)) for e in sink.events if isinstance(e, IncomingMessage)
    ]


async def test_it_resumes_after_the_gateway_drops(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    await world.fake.drop_gateway()
    await world.fake.user_message(world.boston, world.ana, "sent while the socket was down")
    await world.fake.wait_for(lambda: world.fake.resumes >= 1)
    await world.fake.user_message(world.boston, world.ana, "sent after")
    await sink.wait(2, IncomingMessage)
    assert texts(sink) == ["sent while the socket was down", "sent after"]
    assert len(world.fake.identifies) == 1


async def test_a_fresh_session_catches_up_what_was_lost(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    await world.fake.user_message(world.boston, world.ana, "before")
    await sink.wait(1, IncomingMessage)
    await world.fake.drop_gateway(invalidate=True)
    await world.fake.user_message(world.boston, world.ana, "lost in between", dispatch=False)
    await world.fake.wait_for(lambda: len(world.fake.identifies) >= 2)
    await sink.wait(2, IncomingMessage)
    assert texts(sink) == ["before", "lost in between"]


async def test_catch_up_after_downtime(world: World, connect: Connect) -> None:
    adapter, sink = await connect()
    root = await adapter.send(
        outgoing(world, world.lima, "¿Pregunta?", "agora-1-0", starts_thread=True, thread_title="Pregunta")
    )
    await world.fake.user_message(world.lima, world.ana, "seen live")
    await sink.wait(1, IncomingMessage)
    await adapter.stop()

    # While Agora is down: a top-level message, an answer in the question's thread, another
    # top-level message, and a message in a channel nobody linked.
    world.fake.invalidate_sessions()
    await world.fake.user_message(world.lima, world.bob, "first while down", dispatch=False)
    await world.fake.user_message(world.lima, world.ana, "answer while down", thread_id=int(root.id), dispatch=False)
    await world.fake.user_message(world.lima, world.bob, "second while down", dispatch=False)
    await world.fake.user_message(world.lobby, world.bob, "not linked", dispatch=False)

    _, later = await connect()
    events = [e for e in later.events if isinstance(e, IncomingMessage)]
    assert texts(later) == ["first while down", "answer while down", "second while down"]
    assert events[1].thread_id == root.id
    assert len({e.id for e in events}) == 3

    _, again = await connect()  # nothing twice
    assert texts(again) == []


async def test_catch_up_is_bounded_in_time_and_starts_now_for_new_channels(world: World, connect: Connect) -> None:
    adapter, _ = await connect()  # boston and lima get their first mark: nothing before it is relayed
    await adapter.stop()
    week_ago = time.time() - 7 * 24 * 3600
    adapter.tables.db.execute(  # an ancient mark...
        "update discord_seen set last_id = ? where channel_id = ?",
        [world.fake.next_id(week_ago - 60), str(world.boston)],
    )
    await world.fake.user_message(world.boston, world.ana, "a week old", at=week_ago, dispatch=False)
    await world.fake.user_message(world.boston, world.ana, "recent", dispatch=False)
    _, sink = await connect(catchup_hours=24)
    assert texts(sink) == ["recent"]  # ...is capped at catchup_hours


async def test_find_sent_after_a_crash_between_post_and_record(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, _ = running
    msg = OutgoingMessage(
        world.ref(world.boston),
        plain("¿Pregunta?"),
        "agora-7-0",
        author=ANA_LIMA,
        starts_thread=True,
        thread_title="Pregunta",
        footer=plain("traducido"),
    )
    ref = await adapter.send(msg)
    adapter.tables.db.execute("delete from discord_sent")  # the crash came before the id was written down
    found = await adapter.find_sent(msg)
    assert found == ref
    assert (
        await adapter.find_sent(
            OutgoingMessage(world.ref(world.boston), plain("never sent"), "agora-8-0", author=ANA_LIMA)
        )
        is None
    )
    assert len(posts(world, world.boston)) == 1 and len(posts(world, world.boston, "thread")) == 1


async def test_a_retry_after_a_lost_answer_does_not_post_twice(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, _ = running
    msg = outgoing(world, world.lima, "una vez", "agora-9-0")
    first = await adapter.send(msg)
    assert await adapter.find_sent(msg) == first
    assert await adapter.send(msg) == first
    assert len(posts(world, world.lima)) == 1
