"""The Discord adapter with the real discord.py against the fake Discord: events in, posts out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.commands import CommandSpec, find
from bot.errors import ConfigError, DeliveryError
from bot.events import (
    Attachment,
    Author,
    CommandInvoked,
    IncomingMessage,
    MessageDeleted,
    MessageEdited,
    MessageRef,
    OutgoingMessage,
    Reply,
    TranslateRequest,
)
from bot.richtext import Link, Mention, Styled, Text, plain
from tests.discord.conftest import Sink, World

Connect = Callable[..., Any]
ANA_LIMA = Author("u-1", "Ana (Lima)", "https://cdn.example.org/ana.png")


def outgoing(world: World, channel: int, text: str, nonce: str, **extra: Any) -> OutgoingMessage:
    return OutgoingMessage(channel=world.ref(channel), text=plain(text), nonce=nonce, author=ANA_LIMA, **extra)


def posts(world: World, channel: int, op: str = "post") -> list[dict[str, Any]]:
    return [r for r in world.fake.records.get(str(channel), []) if r["op"] == op]


# ------------------------------------------------------------ events in


async def test_a_message_becomes_an_incoming_message(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    msg = await world.fake.user_message(
        world.boston,
        world.ana,
        f"¿Cómo **medimos** la vivienda? <@{world.bob}> https://city.gov/plan",
        attachments=(("plan.pdf", "https://cdn.example.org/plan.pdf"),),
    )
    (event,) = await sink.wait(1, IncomingMessage)
    assert event.channel == world.ref(world.boston)
    assert event.id == msg["id"]
    assert event.event_id == f"discord:{msg['id']}"
    assert event.thread_id is None
    assert event.author.name == "Ana"
    # the asset base follows api_base (a Discord-compatible server serves its own avatars)
    assert event.author.avatar_url and event.author.avatar_url.startswith(
        f"http://127.0.0.1:{world.fake.port}/avatars/"
    )
    assert not event.author.is_bot
    assert event.text == (
        Text("¿Cómo "),
        Styled("bold", (Text("medimos"),)),
        Text(" la vivienda? "),
        Mention("user", str(world.bob), "Bob"),
        Text(" "),
        Link("https://city.gov/plan"),
    )
    (attachment,) = msg["attachments"]
    assert event.attachments == (
        Attachment("plan.pdf", "https://cdn.example.org/plan.pdf", 20480, "application/pdf", attachment["id"]),
    )


async def test_it_asks_for_the_message_content_intent(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    intents = int(world.fake.identifies[0]["intents"])
    guilds, guild_messages, message_content = 1 << 0, 1 << 9, 1 << 15
    assert intents & guilds and intents & guild_messages and intents & message_content


async def test_messages_of_other_bots_come_in_marked(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    helper = world.fake.add_user("Helper", bot=True)
    await world.fake.user_message(world.lima, helper, "beep")
    (event,) = await sink.wait(1, IncomingMessage)
    assert event.author.is_bot


async def test_edits_and_deletes_by_users_reach_the_core(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    msg = await world.fake.user_message(world.boston, world.ana, "first draft https://example.org")
    await sink.wait(1, IncomingMessage)
    await world.fake.unfurl(int(msg["id"]))  # a link preview is an update, not an edit
    await world.fake.user_edit(int(msg["id"]), "second *draft*")
    (edited,) = await sink.wait(1, MessageEdited)
    assert edited.channel == world.ref(world.boston) and edited.id == msg["id"]
    assert edited.text == (Text("second "), Styled("italic", (Text("draft"),), "*"))
    await world.fake.user_delete(int(msg["id"]))
    (deleted,) = await sink.wait(1, MessageDeleted)
    assert deleted.id == msg["id"] and deleted.channel == world.ref(world.boston)
    assert len([e for e in sink.events if isinstance(e, MessageEdited)]) == 1


# ------------------------------------------------------------ posts out


async def test_copies_go_through_one_webhook_as_the_author(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    msg = OutgoingMessage(
        channel=world.ref(world.boston),
        text=plain("@everyone how do you count unsheltered residents?"),
        nonce="agora-1-0",
        author=ANA_LIMA,
        footer=plain("🏷 Homelessness · translated from Spanish"),
    )
    ref = await adapter.send(msg)
    second = await adapter.send(outgoing(world, world.boston, "and shelters?", "agora-2-0"))
    (first, then) = posts(world, world.boston)
    assert ref == MessageRef(world.ref(world.boston), first["message_id"], None)
    assert second.id == then["message_id"]
    assert first["username"] == "Ana (Lima)"
    assert first["avatar_url"] == "https://cdn.example.org/ana.png"
    assert first["allowed_mentions"] == {"parse": []}
    assert (
        first["content"]
        == "\\@everyone how do you count unsheltered residents?\n-# 🏷 Homelessness · translated from Spanish"
    )
    assert first["webhook_id"] == then["webhook_id"]
    assert len(world.fake.webhooks) == 1
    assert adapter.tables.webhook(str(world.boston)) is not None


async def test_names_discord_refuses_are_defused(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    author = Author("u-2", "Discord Fan (São Paulo)", None)
    await adapter.send(OutgoingMessage(world.ref(world.lima), plain("oi"), "agora-3-0", author=author))
    (post,) = posts(world, world.lima)
    assert post["username"].lower() != "discord fan (são paulo)"
    assert post["username"].startswith("Disc") and post["username"].endswith("(São Paulo)")
    assert post["avatar_url"] is None


async def test_a_question_becomes_a_thread_and_its_replies_come_back(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, sink = running
    title = "How do you count unsheltered residents? " * 5
    ref = await adapter.send(
        outgoing(world, world.boston, "How do you count?", "agora-4-0", starts_thread=True, thread_title=title)
    )
    assert ref.thread_id == ref.id
    (thread,) = posts(world, world.boston, "thread")
    assert thread["message_id"] == ref.id and len(thread["name"]) <= 100 and thread["name"].startswith("How do")
    reply = await world.fake.user_message(
        world.boston, world.ana, "We use a point-in-time count.", thread_id=int(ref.id)
    )
    (event,) = await sink.wait(1, IncomingMessage)
    assert event.channel == world.ref(world.boston)
    assert event.thread_id == ref.id and event.id == reply["id"]
    answer = await adapter.send(outgoing(world, world.boston, "Nosotros también.", "agora-5-0", thread_id=ref.id))
    assert answer.thread_id == ref.id
    assert posts(world, world.boston)[-1]["thread_id"] == ref.id


async def test_a_reply_to_a_message_maps_to_its_thread(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, sink = running
    copy = await adapter.send(
        outgoing(world, world.lima, "¿Cómo medimos?", "agora-6-0", starts_thread=True, thread_title="¿Cómo medimos?")
    )
    await world.fake.user_message(world.lima, world.bob, "Con encuestas.", reply_to=int(copy.id))
    (event,) = await sink.wait(1, IncomingMessage)
    assert event.thread_id == copy.id and event.channel == world.ref(world.lima)


async def test_an_answer_to_a_message_without_thread_opens_one(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, sink = running
    question = await world.fake.user_message(world.boston, world.ana, "A mirrored question")
    await sink.wait(1, IncomingMessage)
    ref = await adapter.send(
        outgoing(
            world,
            world.boston,
            "An answer from Lima",
            "agora-7-0",
            thread_id=question["id"],
            thread_title="A mirrored question",
        )
    )
    assert ref.thread_id == question["id"]
    (thread,) = posts(world, world.boston, "thread")
    assert thread["message_id"] == question["id"]
    assert posts(world, world.boston)[-1]["thread_id"] == question["id"]


async def test_edit_and_delete_go_through_the_same_webhook_in_the_thread(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, sink = running
    root = await adapter.send(
        outgoing(world, world.lima, "¿Pregunta?", "agora-8-0", starts_thread=True, thread_title="Pregunta")
    )
    answer = await adapter.send(outgoing(world, world.lima, "Respuesta", "agora-9-0", thread_id=root.id))
    fixed = outgoing(world, world.lima, "Respuesta corregida", "agora-9-0", thread_id=root.id, footer=plain("editado"))
    await adapter.edit(answer, fixed)
    await adapter.edit(root, outgoing(world, world.lima, "¿Pregunta mejor?", "agora-8-0"))
    (edit_answer, edit_root) = posts(world, world.lima, "edit")
    assert edit_answer["message_id"] == answer.id and edit_answer["thread_id"] == root.id
    assert edit_answer["content"] == "Respuesta corregida\n-# editado"
    assert edit_answer["allowed_mentions"] == {"parse": []}
    assert edit_root["message_id"] == root.id and edit_root["thread_id"] is None
    await adapter.delete(answer)
    await adapter.delete(answer)  # already gone: still done
    (deleted,) = posts(world, world.lima, "delete")
    assert deleted["message_id"] == answer.id and deleted["thread_id"] == root.id
    await world.fake.user_message(world.lima, world.bob, "after")
    events = await sink.wait(1, IncomingMessage)
    assert [type(e) for e in sink.events] == [IncomingMessage]  # our own posts, edits and deletes never came back
    assert events[0].text == (Text("after"),)


async def test_images_are_uploaded_as_files(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    await adapter.send(outgoing(world, world.boston, "Hot topics", "agora-10-0", image=png, image_name="topics.png"))
    (post,) = posts(world, world.boston)
    assert post["files"] == ["topics.png"]


async def test_a_deleted_webhook_is_replaced(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    await adapter.send(outgoing(world, world.boston, "one", "agora-11-0"))
    world.fake.webhooks.clear()  # a server admin removed it
    await adapter.send(outgoing(world, world.boston, "two", "agora-12-0"))
    first, second = posts(world, world.boston)
    assert first["webhook_id"] != second["webhook_id"] and len(world.fake.webhooks) == 1


# ------------------------------------------------------------ throttling and failures


async def test_a_429_surfaces_at_once_as_retriable(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    await adapter.send(outgoing(world, world.boston, "warm up", "agora-13-0"))
    world.fake.fail(r"POST /webhooks/\d+/[^/]+", retry_after=7.5)
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(outgoing(world, world.boston, "throttled", "agora-14-0"))
    assert caught.value.retriable and caught.value.retry_after == 7.5
    assert [c for c in world.fake.calls if c[0] == "POST" and c[1].startswith("/webhooks/")][-1][2] == 429
    await adapter.send(outgoing(world, world.boston, "throttled", "agora-14-0"))
    assert [p["content"] for p in posts(world, world.boston)] == ["warm up", "throttled"]


async def test_a_429_on_the_thread_does_not_post_twice(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    world.fake.fail(r"POST /channels/\d+/messages/\d+/threads", retry_after=40.0)
    msg = outgoing(world, world.lima, "¿Pregunta?", "agora-15-0", starts_thread=True, thread_title="Pregunta")
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(msg)
    assert caught.value.retriable and caught.value.retry_after == pytest.approx(40.0, abs=1.0)
    ref = await adapter.send(msg)  # the outbox's retry: the post exists, only the thread is missing
    assert len(posts(world, world.lima)) == 1
    assert ref.thread_id == ref.id == posts(world, world.lima, "thread")[0]["message_id"]


@pytest.mark.parametrize(
    ("status", "code", "retriable"),
    [(500, 0, True), (503, 0, True), (403, 50013, False), (400, 50035, False)],
)
async def test_failures_are_retriable_or_permanent(
    world: World, running: tuple[DiscordAdapter, Sink], status: int, code: int, retriable: bool
) -> None:
    adapter, _ = running
    await adapter.send(outgoing(world, world.boston, "warm up", "agora-16-0"))
    world.fake.fail(r"POST /webhooks/\d+/[^/]+", status=status, code=code)
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(outgoing(world, world.boston, "x", "agora-17-0"))
    assert caught.value.retriable is retriable


async def test_a_hanging_call_times_out_as_retriable(world: World, connect: Connect) -> None:
    adapter, _ = await connect(request_timeout=0.3)
    await adapter.send(outgoing(world, world.boston, "warm up", "agora-18-0"))
    world.fake.fail(r"POST /webhooks/\d+/[^/]+", hang=True)
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(outgoing(world, world.boston, "x", "agora-19-0"))
    assert caught.value.retriable


async def test_a_throttled_channel_does_not_stall_the_others(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, _ = running
    await adapter.send(outgoing(world, world.boston, "warm up", "agora-20-0"))
    await adapter.send(outgoing(world, world.lima, "warm up", "agora-21-0"))
    world.fake.throttle(world.boston, retry_after=30.0)
    results = await asyncio.gather(
        adapter.send(outgoing(world, world.boston, "stuck", "agora-22-0")),
        *(adapter.send(outgoing(world, world.lima, f"flowing {n}", f"agora-23-{n}")) for n in range(5)),
        return_exceptions=True,
    )
    assert isinstance(results[0], DeliveryError) and results[0].retry_after == 30.0
    assert all(isinstance(r, MessageRef) for r in results[1:])
    assert [p["content"] for p in posts(world, world.lima)][1:] == [f"flowing {n}" for n in range(5)]


# ------------------------------------------------------------ own echoes


async def test_own_posts_and_answers_never_come_back(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, sink = running
    await adapter.send(outgoing(world, world.boston, "a copy", "agora-24-0"))
    await world.fake.slash(world.boston, world.ana, "ask", {"question": "Where?"})  # answered in the channel
    await sink.wait(1, CommandInvoked)
    await world.fake.wait_for(lambda: any(i.followups for i in world.fake.interactions.values()))
    await world.fake.user_message(world.boston, world.ana, "a person")
    (event,) = await sink.wait(1, IncomingMessage)
    assert event.text == (Text("a person"),)
    assert len([e for e in sink.events if isinstance(e, IncomingMessage)]) == 1


# ------------------------------------------------------------ commands


async def test_a_slash_command_is_deferred_then_answered(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    acknowledged: list[bool] = []

    def answer(event: Any) -> Reply:
        interaction = next(iter(world.fake.interactions.values()))
        acknowledged.append(bool(interaction.callbacks))  # deferred before the core saw the command
        return Reply(plain(f"Canal vinculado a {event.args}"), ephemeral=True)

    sink.answer = answer
    interaction = await world.fake.slash(
        world.boston, world.ana, "agora", {"network": "wwc", "code": "s3cret"}, sub="link", locale="pt-BR"
    )
    (event,) = await sink.wait(1, CommandInvoked)
    assert event.name == "agora" and event.args == "link wwc s3cret"
    assert event.locale == "pt-BR" and event.can_manage and event.thread_id is None
    assert event.channel == world.ref(world.boston) and event.author.name == "Ana"
    await world.fake.wait_for(lambda: interaction.followups)
    assert acknowledged == [True]
    assert interaction.callbacks == [{"type": 5, "data": {"flags": 64}}]
    (followup,) = interaction.followups
    assert followup["content"] == "Canal vinculado a link wwc s3cret"
    assert followup["flags"] == 64 and followup["allowed_mentions"] == {"parse": []}


def _deferral(spec: CommandSpec | None) -> dict[str, Any]:
    assert spec is not None
    return {"type": 5, "data": {"flags": 64}} if spec.ephemeral else {"type": 5}


async def test_deferral_follows_the_spec_and_members_cannot_manage(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    _, sink = running
    ask = await world.fake.slash(world.lima, world.bob, "ask", {"question": "¿Dónde?"}, locale="es-419", manager=False)
    (event,) = await sink.wait(1, CommandInvoked)
    assert event.name == "ask" and event.args == "¿Dónde?" and event.locale == "es-419"
    assert not event.can_manage
    topics = await world.fake.slash(world.lima, world.bob, "agora", sub="topics", manager=False)
    await sink.wait(2, CommandInvoked)
    await world.fake.wait_for(lambda: ask.followups and topics.followups)
    assert ask.callbacks == [_deferral(find("ask"))]
    assert topics.callbacks == [_deferral(find("agora topics"))]
    assert topics.callbacks != ask.callbacks  # one public, one private in the shipped table


async def test_long_answers_are_split_and_charts_attached(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    sink.answer = lambda event: Reply(
        plain("Homelessness rising. " * 150), ephemeral=False, image=b"\x89PNG", image_name="topics.png"
    )
    interaction = await world.fake.slash(world.lima, world.ana, "agora", {"days": 30}, sub="topics")
    (event,) = await sink.wait(1, CommandInvoked)
    assert event.args == "topics 30"
    await world.fake.wait_for(lambda: len(interaction.followups) == 2)
    first, second = interaction.followups
    assert len(first["content"]) <= 2000 and first["files"] == [] and second["files"] == ["topics.png"]


async def test_commands_in_a_thread_carry_it(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, sink = running
    root = await adapter.send(outgoing(world, world.boston, "Q?", "agora-25-0", starts_thread=True, thread_title="Q"))
    await world.fake.slash(int(root.id), world.ana, "agora", {"message": "#3"}, sub="original")
    (event,) = await sink.wait(1, CommandInvoked)
    assert event.channel == world.ref(world.boston) and event.thread_id == root.id


async def test_translate_for_me_is_answered_privately(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    sink.answer = lambda event: Reply(plain("How do we measure housing?"))
    msg = await world.fake.user_message(world.lima, world.ana, "¿Cómo medimos la **vivienda**?")
    await sink.wait(1, IncomingMessage)
    interaction = await world.fake.context_menu(
        world.lima, world.bob, "Translate for me", int(msg["id"]), locale="en-GB"
    )
    (event,) = await sink.wait(1, TranslateRequest)
    assert event.text == (Text("¿Cómo medimos la "), Styled("bold", (Text("vivienda"),)), Text("?"))
    assert event.locale == "en-GB" and event.author.name == "Bob" and event.channel == world.ref(world.lima)
    await world.fake.wait_for(lambda: interaction.followups)
    assert interaction.callbacks == [{"type": 5, "data": {"flags": 64}}]
    assert interaction.followups[0]["flags"] == 64
    assert interaction.followups[0]["content"] == "How do we measure housing?"


# ------------------------------------------------------------ start, stop, doctor


async def test_start_without_a_token_names_the_variable(world: World, db: Any) -> None:
    from adapters.discord import create
    from tests.discord.conftest import context, table

    adapter = create(table(world), context(world, db, token=""))
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        await adapter.start(Sink())
    rejected = create(table(world), context(world, db, token="wrong"))
    with pytest.raises(ConfigError, match="rejected"):
        await rejected.start(Sink())


async def test_doctor_checks(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    await adapter.send(outgoing(world, world.boston, "x", "agora-26-0"))
    checks = {c.name: c for c in adapter.checks()}
    assert checks["Discord bot token"].ok
    assert world.fake.api_base in checks["Discord endpoints"].detail
    assert checks["Discord webhooks"].detail.startswith("1 of 2")
    assert checks["Discord Message Content intent"].ok


async def test_doctor_notices_the_intent_is_off(world: World, connect: Connect) -> None:
    world.fake.application_flags = 0  # the switch in the developer portal was never turned on
    adapter, _ = await connect()
    (intent,) = [c for c in adapter.checks() if c.name == "Discord Message Content intent"]
    assert not intent.ok and "Message Content" in intent.fix


async def test_the_gateway_is_asked_from_the_api_base(world: World, connect: Connect) -> None:
    _, sink = await connect(gateway_url=None)
    assert ("GET", "/gateway/bot", 200) in world.fake.calls
    await world.fake.user_message(world.boston, world.ana, "hello")
    await sink.wait(1, IncomingMessage)


async def test_a_long_copy_keeps_its_footer_within_the_limit(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, _ = running
    body = "palabra " * 248  # what the core's split leaves for a part: close to the limit
    footer = plain("🏷 Homelessness, Housing · translated from Spanish · original: /agora original 1234")
    await adapter.send(outgoing(world, world.boston, body.strip(), "agora-27-0", footer=footer))
    (post,) = posts(world, world.boston)
    assert len(post["content"]) <= 2000
    assert post["content"].startswith(body.strip()) and "🏷 Homelessness" in post["content"]


async def test_edits_and_deletes_wake_an_archived_thread(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    root = await adapter.send(outgoing(world, world.boston, "Q?", "agora-28-0", starts_thread=True, thread_title="Q"))
    answer = await adapter.send(outgoing(world, world.boston, "A", "agora-29-0", thread_id=root.id))
    world.fake.archive_thread(int(root.id))
    await adapter.edit(answer, outgoing(world, world.boston, "A, edited", "agora-29-0", thread_id=root.id))
    world.fake.archive_thread(int(root.id))
    await adapter.delete(answer)
    assert [p["content"] for p in posts(world, world.boston, "edit")] == ["A, edited"]
    assert len(posts(world, world.boston, "delete")) == 1
    assert [c for c in world.fake.calls if c[0] == "PATCH" and c[1] == f"/channels/{root.id}"] == [
        ("PATCH", f"/channels/{root.id}", 200)
    ] * 2
