"""Slash commands and the "Translate for me" shortcut, over Socket Mode."""

from __future__ import annotations

import asyncio

from bot.events import Author, ChannelRef, CommandInvoked, Event, Reply, TranslateRequest
from bot.richtext import Styled, Text, plain
from testing.slack_server import TEAM, FakeSlack
from tests.slack.conftest import BOSTON, LIMA, AdapterFactory

BOSTON_REF = ChannelRef("slack", TEAM, BOSTON)


async def test_ask_is_acknowledged_before_the_core_answers(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    release = asyncio.Event()

    async def slow_core(event: Event) -> None:
        await release.wait()  # translation and storage take their time
        assert isinstance(event, CommandInvoked)
        await event.reply(Reply((Text("Your question #1 is on its "), Styled("bold", (Text("way"),), "*")), False))

    sink.hook = slow_core
    rid, ack = await fake.command("/ask", "¿Qué refugios aceptan familias?", user="U0LUIS", channel=BOSTON)
    # the ack came back while the core was still busy: Slack's 3-second deadline does not depend on it
    assert ack["envelope_id"] and fake.responses_for(rid) == []
    (event,) = await sink.wait(1)
    assert isinstance(event, CommandInvoked)
    assert (event.channel, event.name, event.args, event.locale) == (
        BOSTON_REF,
        "ask",
        "¿Qué refugios aceptan familias?",
        "es-419",
    )
    assert event.author == Author("U0LUIS", "Luis", "https://avatars.example.org/U0LUIS_192.png")
    assert event.can_manage is False
    release.set()
    (response,) = await fake.wait_for(lambda: fake.responses_for(rid))
    assert response["response_type"] == "in_channel"
    assert response["text"] == "Your question #1 is on its *way*"


async def test_agora_subcommand_is_answered_ephemerally(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()

    async def core(event: Event) -> None:
        assert isinstance(event, CommandInvoked)
        await event.reply(Reply(plain("Agora neste canal\nIdioma: português")))

    sink.hook = core
    rid, _ = await fake.command("/agora", "status", user="U0BIA", channel=LIMA)
    (event,) = await sink.wait(1)
    assert isinstance(event, CommandInvoked)
    assert (event.name, event.args, event.locale) == ("agora", "status", "pt-BR")
    (response,) = await fake.wait_for(lambda: fake.responses_for(rid))
    assert response["response_type"] == "ephemeral"
    assert response["text"] == "Agora neste canal\nIdioma: português"


async def test_channel_creator_and_admins_can_manage(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    for user in ("U0ANA", "U0ADMIN", "U0BIA"):
        await fake.command("/agora", "link wwc", user=user, channel=BOSTON)
    events = await sink.wait(3)
    assert [(e.author.id, e.can_manage) for e in events if isinstance(e, CommandInvoked)] == [
        ("U0ANA", True),  # created the channel
        ("U0ADMIN", True),  # workspace admin
        ("U0BIA", False),
    ]


async def test_core_failure_gets_an_apology_in_the_callers_language(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    _, sink = await make_adapter()

    async def broken(event: Event) -> None:
        raise RuntimeError("bug in the core")

    sink.hook = broken
    rid, _ = await fake.command("/agora", "status", user="U0BIA", channel=BOSTON)
    (response,) = await fake.wait_for(lambda: fake.responses_for(rid))
    assert response["response_type"] == "ephemeral"
    assert "Agora" in response["text"] and "nada foi alterado" in response["text"].lower()


async def test_ephemeral_chart_is_uploaded_privately_and_shown_in_a_block(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    _, sink = await make_adapter()

    async def core(event: Event) -> None:
        assert isinstance(event, CommandInvoked)
        await event.reply(Reply(plain("Hot topics"), True, b"\x89PNG chart", "topics.png"))

    sink.hook = core
    rid, _ = await fake.command("/agora", "topics 7", user="U0ANA", channel=BOSTON)
    text, image = await fake.wait_for(lambda: fake.responses_for(rid)[:2] if len(fake.responses_for(rid)) >= 2 else [])
    assert text["text"] == "Hot topics"
    (upload,) = [r for r in fake.records if r["op"] == "upload"]
    assert upload["channel"] is None and upload["name"] == "topics.png"
    assert image["response_type"] == "ephemeral"
    assert image["blocks"] == [{"type": "image", "slack_file": {"id": upload["file_id"]}, "alt_text": "topics.png"}]


async def test_in_channel_chart_is_uploaded_to_the_channel(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()

    async def core(event: Event) -> None:
        assert isinstance(event, CommandInvoked)
        await event.reply(Reply(plain("Hot topics"), False, b"\x89PNG chart", "topics.png"))

    sink.hook = core
    await fake.command("/agora", "topics", user="U0ANA", channel=BOSTON)
    (upload,) = await fake.wait_for(lambda: fake.records_for(BOSTON, "upload"))
    assert upload["name"] == "topics.png" and upload["size"] == len(b"\x89PNG chart")


async def test_long_reply_is_split_within_slacks_limit(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    long_text = plain("\n\n".join(f"Result {i}: " + "palabra " * 400 for i in range(30)))

    async def core(event: Event) -> None:
        assert isinstance(event, CommandInvoked)
        await event.reply(Reply(long_text))

    sink.hook = core
    rid, _ = await fake.command("/agora", "search palabra", user="U0ANA", channel=BOSTON)
    responses = await fake.wait_for(lambda: fake.responses_for(rid) if len(fake.responses_for(rid)) >= 3 else [])
    assert all(len(r["text"]) <= 40_000 for r in responses)
    assert sum(r["text"].count("Result") for r in responses) == 30


async def test_translate_for_me(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    root = await fake.user_posts(BOSTON, "U0ANA", "Which shelters accept *families*?", deliver=False)
    reply_ts = await fake.user_posts(BOSTON, "U0LUIS", "En Lima, el albergue municipal.", thread_ts=root, deliver=False)

    async def core(event: Event) -> None:
        if isinstance(event, TranslateRequest):
            await event.reply(Reply(plain("Em Lima, o abrigo municipal.")))

    sink.hook = core
    await fake.shortcut("translate_for_me", BOSTON, reply_ts, user="U0BIA")
    (event,) = await sink.wait(1)
    assert isinstance(event, TranslateRequest)
    assert (event.channel, event.author.id, event.locale) == (BOSTON_REF, "U0BIA", "pt-BR")
    assert event.text == plain("En Lima, el albergue municipal.")
    (ephemeral,) = await fake.wait_for(lambda: fake.records_for(BOSTON, "ephemeral"))
    assert (ephemeral["user"], ephemeral["thread_ts"], ephemeral["text"]) == (
        "U0BIA",
        root,
        "Em Lima, o abrigo municipal.",
    )


async def test_translate_for_me_where_the_bot_is_not_a_member(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    fake.add_channel("C0OTHER", "elsewhere", bot_member=False)
    ts = await fake.user_posts("C0OTHER", "U0ANA", "hello", deliver=False)

    async def core(event: Event) -> None:
        if isinstance(event, TranslateRequest):
            await event.reply(Reply(plain("olá")))

    sink.hook = core
    rid, _ = await fake.shortcut("translate_for_me", "C0OTHER", ts, user="U0BIA")
    (response,) = await fake.wait_for(lambda: fake.responses_for(rid))
    assert (response["response_type"], response["text"]) == ("ephemeral", "olá")
