from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.events import Author, ChannelRef, IncomingMessage, MessageDeleted, MessageEdited
from bot.richtext import CodeBlock, LineBreak, Mention, Text, plain, to_plain
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


def question_text(h: Harness, channel: ChannelRef) -> list[str]:
    return h.adapter.texts(channel)


async def test_ask_reaches_every_linked_channel_translated_and_attributed(harness: Harness) -> None:
    reply = await harness.command(BOSTON, "/ask How do you run the PIT count of homeless people?")
    assert "2 other cities" in to_plain(reply.text)
    assert reply.ephemeral  # the question itself is posted; the confirmation is for the asker
    await harness.drain()
    gdl = harness.adapter.posts[GDL]
    recife = harness.adapter.posts[RECIFE]
    assert [p.text for p in gdl] == ["[es] How do you run the PIT count of homeless people?"]
    assert [p.text for p in recife] == ["[pt] How do you run the PIT count of homeless people?"]
    for post in gdl + recife:
        assert post.msg.author is not None and post.msg.author.name == "Ana (Boston)"
        assert post.msg.starts_thread
        assert post.msg.meta is not None and post.msg.meta.topics == ("homelessness",)
        assert "/agora original" in to_plain(post.msg.footer)
    # The asker's own channel gets the question too, untranslated, as the thread root there.
    assert harness.adapter.texts(BOSTON) == ["How do you run the PIT count of homeless people?"]
    # Footers speak the reader's language and show the topic.
    assert "traducido del inglés" in to_plain(gdl[0].msg.footer)
    label = harness.agora.tagger.name("homelessness", "es")
    assert to_plain(gdl[0].msg.footer).startswith(f"🏷 {label}")


async def test_reply_in_any_copy_thread_reaches_every_other_thread(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask Who has an AI policy for staff?")
    await harness.drain()
    gdl_root = harness.adapter.posts[GDL][0]
    boston_root = harness.adapter.posts[BOSTON][0]
    recife_root = harness.adapter.posts[RECIFE][0]
    await harness.adapter.emit(
        IncomingMessage(
            GDL, "g1", Author("u2", "Luis"), plain("Nosotros publicamos una guía en marzo."), thread_id=gdl_root.id
        )
    )
    await harness.drain()
    boston_reply = harness.adapter.posts[BOSTON][1]
    recife_reply = harness.adapter.posts[RECIFE][1]
    assert boston_reply.msg.thread_id == boston_root.id
    assert recife_reply.msg.thread_id == recife_root.id
    assert boston_reply.text.startswith("[en]") and recife_reply.text.startswith("[pt]")
    assert len(harness.adapter.posts[GDL]) == 1  # never echoed back to its source
    # A reply in the asker's thread goes to the two others.
    await harness.adapter.emit(
        IncomingMessage(BOSTON, "b1", Author("u1", "Ana"), plain("Thanks, that helps."), thread_id=boston_root.id)
    )
    await harness.drain()
    assert harness.adapter.posts[GDL][1].msg.thread_id == gdl_root.id
    assert harness.adapter.posts[RECIFE][2].msg.thread_id == recife_root.id


async def test_top_level_posts_travel_only_in_mirror_mode(harness: Harness) -> None:
    await harness.adapter.emit(IncomingMessage(GDL, "m1", Author("u2", "Luis"), plain("Buenos días a todos")))
    await harness.drain()
    assert not harness.adapter.posts[BOSTON]
    reply = await harness.command(GDL, "/agora mode mirror")
    assert "mirror" in to_plain(reply.text)
    await harness.adapter.emit(IncomingMessage(GDL, "m2", Author("u2", "Luis"), plain("Buenos días a todos")))
    await harness.drain()
    assert harness.adapter.texts(BOSTON) == ["[en] Buenos días a todos"]
    assert harness.adapter.texts(RECIFE) == ["[pt] Buenos días a todos"]
    assert not harness.adapter.posts[GDL]


async def test_edits_and_deletes_propagate_also_after_a_restart(make_harness: Callable[..., Any]) -> None:
    h: Harness = await make_harness()
    await h.command(BOSTON, "/ask Budget question?")
    await h.drain()
    root = h.adapter.posts[GDL][0]
    await h.adapter.emit(IncomingMessage(GDL, "g9", Author("u2", "Luis"), plain("Respuesta uno"), thread_id=root.id))
    await h.drain()
    await h.agora.stop(grace=1)

    h2: Harness = await make_harness()  # a new process on the same database
    h2.adapter.posts.update(h.adapter.posts)
    h2.adapter.by_id.update(h.adapter.by_id)
    await h2.adapter.emit(MessageEdited(GDL, "g9", plain("Respuesta corregida")))
    await h2.drain()
    boston_reply = h.adapter.posts[BOSTON][1]
    assert boston_reply.text == "[en] Respuesta corregida"
    assert boston_reply.edits == ["[en] Respuesta uno"]
    await h2.adapter.emit(MessageDeleted(GDL, "g9"))
    await h2.drain()
    assert boston_reply.deleted and h.adapter.posts[RECIFE][1].deleted
    await h2.agora.stop(grace=1)


async def test_the_bot_never_relays_its_own_posts(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask Anyone using 311 data for climate planning?")
    await harness.drain()
    own = harness.adapter.posts[GDL][0]
    await harness.command(GDL, "/agora mode mirror")
    # The platform echoes the bot's own copy back as a message in the channel.
    await harness.adapter.emit(
        IncomingMessage(GDL, own.id, Author("bot", "Ana (Boston)", is_bot=True), plain(own.text))
    )
    await harness.adapter.emit(IncomingMessage(GDL, own.id, Author("bot", "Ana (Boston)"), plain(own.text)))
    await harness.drain()
    assert len(harness.adapter.posts[BOSTON]) == 1
    assert len(harness.adapter.posts[RECIFE]) == 1


async def test_redelivered_events_are_relayed_once(harness: Harness) -> None:
    await harness.command(GDL, "/agora mode mirror")
    event = IncomingMessage(GDL, "x1", Author("u2", "Luis"), plain("Hola"), event_id="Ev1")
    await harness.adapter.emit(event)
    await harness.adapter.emit(event)
    await harness.adapter.emit(IncomingMessage(GDL, "x1", Author("u2", "Luis"), plain("Hola"), event_id="Ev1-retry"))
    await harness.drain()
    assert len(harness.adapter.posts[BOSTON]) == 1


async def test_copies_ping_nobody(harness: Harness) -> None:
    await harness.command(GDL, "/agora mode mirror")
    text = (
        Mention("broadcast", "here"),
        Text(" "),
        Mention("user", "U1", "Luis"),
        Text(" "),
        Mention("group", "S1", "equipo"),
        Text(" revisen esto"),
    )
    await harness.adapter.emit(IncomingMessage(GDL, "x2", Author("u2", "Luis"), text))
    await harness.drain()
    post = harness.adapter.posts[BOSTON][0]
    assert not any(isinstance(s, Mention) for s in post.msg.text)
    for shown in ("@here", "@Luis", "@equipo", "revisen esto"):
        assert shown in post.text


async def test_long_texts_split_at_boundaries_with_code_blocks_whole(harness: Harness) -> None:
    harness.adapter.max_text = 300
    await harness.command(GDL, "/agora mode mirror")
    para = "Esta es una oración bastante larga sobre el presupuesto municipal. " * 3
    code = "select *\nfrom budget\nwhere year = 2026"
    text = (
        *plain(para.strip()),
        LineBreak(),
        LineBreak(),
        CodeBlock(code, "sql"),
        LineBreak(),
        LineBreak(),
        *plain(para.strip()),
        LineBreak(),
        LineBreak(),
        *plain(para.strip()),
    )
    await harness.adapter.emit(IncomingMessage(GDL, "x3", Author("u2", "Luis"), text))
    await harness.drain()
    parts = harness.adapter.posts[BOSTON]
    assert len(parts) >= 2
    for part in parts:
        assert len(harness.adapter.render(part.msg.text)) + len(to_plain(part.msg.footer)) <= 300
    blocks = [s for p in parts for s in p.msg.text if isinstance(s, CodeBlock)]
    assert blocks == [CodeBlock(code, "sql")]
    assert [bool(p.msg.footer) for p in parts] == [False] * (len(parts) - 1) + [True]


async def test_a_failing_engine_never_loses_a_message(harness: Harness) -> None:
    harness.translator.down = True
    await harness.command(BOSTON, "/ask Is anyone measuring heat islands?")
    await harness.drain()
    post = harness.adapter.posts[GDL][0]
    assert post.text == "Is anyone measuring heat islands?"
    assert "sin traducir" in to_plain(post.msg.footer)
    assert post.msg.meta is not None and not post.msg.meta.translated


async def test_one_translation_per_language_whatever_the_channel_count(harness: Harness) -> None:
    extra = ChannelRef("fake", "s", "monterrey")
    await harness.command(extra, "/agora link demo DEMOCODE Monterrey", locale="es-419")
    await harness.command(BOSTON, "/ask Where do you host open data?")
    await harness.drain()
    targets = [c[2] for c in harness.translator.calls]
    assert sorted(targets) == ["es", "pt"]
    assert harness.adapter.texts(extra) == ["[es] Where do you host open data?"]


async def test_mirror_channels_relay_replies_in_threads_agora_does_not_know(harness: Harness) -> None:
    await harness.command(GDL, "/agora mode mirror")
    await harness.adapter.emit(
        IncomingMessage(GDL, "t1", Author("u2", "Luis"), plain("Respuesta a algo local"), thread_id="local-thread")
    )
    await harness.drain()
    assert harness.adapter.texts(BOSTON) == ["[en] Respuesta a algo local"]
    # In questions mode the same reply stays local.
    await harness.command(RECIFE, "/agora mode questions")
    await harness.adapter.emit(
        IncomingMessage(RECIFE, "t2", Author("u3", "Rita"), plain("Resposta local"), thread_id="other-thread")
    )
    await harness.drain()
    assert len(harness.adapter.texts(BOSTON)) == 1
