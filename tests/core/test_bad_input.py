"""Hostile and broken input: nothing raises, nothing is stored that SQLite or a platform would refuse."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import commands
from bot.errors import CommandError
from bot.events import Author, IncomingMessage, MessageEdited
from bot.richtext import Text, clean_text, plain, to_plain
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

NASTY = [
    "\ud800 lone surrogate",
    "nul\x00byte and \x07bell and \x1b[31mescape",
    "'; drop table messages; --",
    '" OR 1=1 -- NEAR(a b) * ^col:',
    "\u202e right-to-left override \u200b zero width",
    "🙂" * 50,
]


@settings(max_examples=500)
@given(st.sampled_from(["ask", "agora", "x", ""]), st.text())
def test_the_command_parser_only_ever_refuses_with_a_command_error(name: str, args: str) -> None:
    try:
        parsed = commands.parse(name, args)
    except CommandError as exc:
        assert exc.key.startswith("error.")
    else:
        assert parsed.spec in commands.COMMANDS


@given(st.text())
def test_clean_text_leaves_only_storable_characters(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogates
    assert all(c in "\n\t" or c.isprintable() or not c.isascii() for c in cleaned)
    assert clean_text(cleaned) == cleaned


async def test_nasty_text_is_relayed_cleaned_and_searchable(harness: Harness) -> None:
    await harness.command(GDL, "/agora mode mirror")
    for i, text in enumerate(NASTY):
        await harness.adapter.emit(IncomingMessage(GDL, f"n{i}", Author("u\ud800", "Luis\x00"), plain(text)))
    await harness.command(BOSTON, "/ask " + NASTY[0])
    await harness.adapter.emit(MessageEdited(GDL, "n1", (Text("edited \ud800\x00"),)))
    await harness.drain()
    texts = harness.adapter.texts(BOSTON)
    assert len(texts) == len(NASTY) + 1
    for text in texts:
        text.encode("utf-8")
        assert "\x00" not in text and "\x1b" not in text
    assert any("\ufffd lone surrogate" in t for t in texts)
    assert "edited \ufffd" in harness.adapter.texts(RECIFE)[1]
    for query in NASTY:
        reply = to_plain((await harness.command(RECIFE, "/agora search " + query)).text)
        assert reply.startswith(("Resultados para", "Nada encontrado", "Não entendi"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
async def test_any_question_text_is_stored_or_refused_cleanly(harness: Harness, text: str) -> None:
    reply = await harness.command(BOSTON, "/ask " + text)
    assert to_plain(reply.text).startswith(("Your question #", "Missing question", "There is nothing to send"))
