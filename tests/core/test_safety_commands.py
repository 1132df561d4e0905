"""Issue 12 in the core: who may change the glossary, its change log, and hostile command input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.events import Author, IncomingMessage
from bot.richtext import plain, to_plain
from bot.store import DONE
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness
from tests.database import dump as dump_database

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


def dump(h: Harness) -> str:
    return dump_database(h.agora.db)


def text(reply: Any) -> str:
    return to_plain(reply.text)


@pytest.mark.parametrize(("channel", "lang"), [(BOSTON, "en"), (GDL, "es"), (RECIFE, "pt")])
async def test_members_cannot_rewrite_the_network_glossary(harness: Harness, channel: Any, lang: str) -> None:
    before = dump(harness)
    for args in ("add shelter es=cárcel", "remove HUD"):
        reply = await harness.command(channel, f"/agora glossary {args}", can_manage=False)
        assert text(reply) == harness.agora.catalog.t("error.glossary_managers", lang)
    assert dump(harness) == before
    # Reading stays open to everyone.
    listed = await harness.command(channel, "/agora glossary list", can_manage=False)
    assert text(listed) == harness.agora.catalog.t("reply.glossary_empty", lang, network="demo")


async def test_a_config_switch_opens_the_glossary_to_members(make_harness: Callable[..., Any]) -> None:
    h: Harness = await make_harness(glossary_members=True)
    try:
        reply = await h.command(BOSTON, "/agora glossary add Housing First", can_manage=False)
        assert text(reply) == h.agora.catalog.t("reply.glossary_added", "en", term="Housing First", network="demo")
        assert h.agora.store.glossary("demo") == [("Housing First", {})]
    finally:
        await h.agora.stop(grace=1)


async def test_every_glossary_change_is_recorded_with_who_and_when_and_shown(harness: Harness) -> None:
    harness.agora.store.now = lambda: 1_764_950_400.0  # 2025-12-05 16:00 UTC
    await harness.command(BOSTON, "/agora glossary add shelter es=albergue pt=abrigo", user="Ana")
    await harness.command(GDL, "/agora glossary remove shelter", user="Luis")
    changes = harness.agora.store.glossary_changes("demo")
    assert [(c.action, c.term, c.actor_name, str(c.channel), c.at) for c in changes] == [
        ("remove", "shelter", "Luis", str(GDL), 1_764_950_400.0),
        ("add", "shelter", "Ana", str(BOSTON), 1_764_950_400.0),
    ]
    assert changes[1].translations == {"es": "albergue", "pt": "abrigo"}
    catalog = harness.agora.catalog
    for channel, lang in ((BOSTON, "en"), (GDL, "es"), (RECIFE, "pt")):
        shown = text(await harness.command(channel, "/agora glossary changes", can_manage=False))
        lines = shown.split("\n")
        assert lines[0] == catalog.t("reply.glossary_changes", lang, network="demo")
        when = "2025-12-05 16:00"
        who = {"who": "Luis", "city": "Guadalajara", "term": "shelter"}
        removed = catalog.t("reply.glossary_change_remove", lang, when=when, **who)
        added = catalog.t("reply.glossary_change_add", lang, when=when, who="Ana", city="Boston", term="shelter")
        assert lines[1] == f"• {removed}"
        assert lines[2].startswith(f"• {added}")
        assert lines[2].endswith("(es=albergue, pt=abrigo)")


async def test_no_changes_yet_says_so(harness: Harness) -> None:
    reply = await harness.command(RECIFE, "/agora glossary changes", can_manage=False)
    assert text(reply) == harness.agora.catalog.t("reply.glossary_no_changes", "pt", network="demo")


async def test_a_refused_removal_records_nothing(harness: Harness) -> None:
    before = dump(harness)
    reply = await harness.command(BOSTON, "/agora glossary remove nothing-here")
    assert "nothing-here" in text(reply)
    assert dump(harness) == before


async def test_bidi_and_zero_width_characters_leave_glossary_terms(harness: Harness) -> None:
    await harness.command(BOSTON, "/agora glossary add H\u200bU\u202eD es=H\u2066UD")
    assert harness.agora.store.glossary("demo") == [("HUD", {"es": "HUD"})]
    before = dump(harness)
    reply = await harness.command(BOSTON, "/agora glossary add \u200b\u200d\u2060")
    assert text(reply) == harness.agora.catalog.t("error.glossary_term", "en")
    assert dump(harness) == before


@pytest.mark.parametrize("days", ["9" * 5000, "٧", "７", "1" * 5, "0"])
async def test_topics_with_a_bad_number_of_days_answers_a_clear_error(harness: Harness, days: str) -> None:
    before = dump(harness)
    reply = await harness.command(GDL, f"/agora topics {days}")
    assert text(reply) == harness.agora.catalog.t("error.bad_int", "es", arg="days", value=days[:40])
    assert dump(harness) == before


async def test_original_does_not_read_non_ascii_digits_as_ids(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask How do you count?")
    reply = await harness.command(BOSTON, "/agora original ١")
    assert text(reply) == harness.agora.catalog.t("error.unknown_message", "en", message="١")
    ok = await harness.command(BOSTON, "/agora original #1")
    assert "How do you count?" in text(ok)


async def test_an_ask_of_only_zero_width_characters_is_refused_and_nothing_relayed(harness: Harness) -> None:
    before = dump(harness)
    reply = await harness.command(RECIFE, "/ask \u200b\u200c\ufeff \u2060")
    assert text(reply) == harness.agora.catalog.t("error.empty_text", "pt")
    await harness.adapter.emit(IncomingMessage(BOSTON, "m1", Author("u1", "Ana"), plain("\u200b\u200b")))
    assert dump(harness) == before


async def test_names_lose_control_bidi_and_zero_width_characters_everywhere(harness: Harness) -> None:
    await harness.command(BOSTON, "/agora mode mirror")
    await harness.adapter.emit(IncomingMessage(BOSTON, "m1", Author("u1", "Ana\u202e\x07\u200b"), plain("hello")))
    await harness.adapter.emit(IncomingMessage(BOSTON, "m2", Author("u2", "\x01\u200b\u202e"), plain("hi again")))
    await harness.drain()
    names = [m.author_name for m in harness.agora.store.messages_since("demo", 0)]
    assert names == ["Ana", "u2"]  # a name of nothing visible falls back to the id
    assert harness.agora.store.delivery_counts().get(DONE) == 4
