"""Subscriptions, the hot-topics report, the weekly digest and cross-lingual search, through the real core."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable
from typing import Any

import pytest

from bot.digest import next_slot
from bot.events import Author, IncomingMessage
from bot.richtext import plain, to_plain
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


async def test_subscribed_channels_get_only_their_topics_and_untagged_questions(harness: Harness) -> None:
    reply = await harness.command(RECIFE, "/agora subscribe moradia clima")
    assert "Habitação" in to_plain(reply.text) or "moradia" in to_plain(reply.text).lower()
    assert harness.agora.store.channel(RECIFE).subscriptions == ("housing", "climate")  # type: ignore[union-attr]
    await harness.command(BOSTON, "/ask How do you staff overnight homeless shelters in winter?")
    await harness.command(BOSTON, "/ask Any rent stabilization or affordable housing ordinance examples?")
    await harness.command(BOSTON, "/ask Who is free for a call on Tuesday?")
    await harness.drain()
    recife = harness.adapter.texts(RECIFE)
    assert len(recife) == 2
    assert "rent stabilization" in recife[0] and "Tuesday" in recife[1]
    assert len(harness.adapter.texts(GDL)) == 3
    status = to_plain((await harness.command(RECIFE, "/agora status")).text)
    assert "Temas:" in status and harness.agora.tagger.name("housing", "pt") in status
    back = await harness.command(RECIFE, "/agora unsubscribe housing climate")
    assert "todos os temas" in to_plain(back.text)


async def test_unknown_topics_list_the_valid_ones_in_the_callers_language(harness: Harness) -> None:
    reply = to_plain((await harness.command(GDL, "/agora subscribe vivienda dragones")).text)
    assert reply.startswith("Tema desconocido: dragones. Temas válidos:")
    assert harness.agora.tagger.name("homelessness", "es") in reply
    assert harness.agora.store.channel(GDL).subscriptions == ()  # type: ignore[union-attr]


async def test_hot_topics_report_counts_cities_and_posts_a_chart(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask How do you fund homeless shelters after ARPA?")
    await harness.command(GDL, "/ask ¿Cómo atienden a las personas en situación de calle en invierno?")
    await harness.command(RECIFE, "/ask Como vocês usam IA generativa no atendimento ao cidadão?")
    await harness.drain()
    root = harness.adapter.posts[GDL][0]
    await harness.adapter.emit(
        IncomingMessage(
            GDL,
            "r1",
            Author("u", "Luis"),
            plain("Abrimos albergues temporales para personas sin hogar."),
            thread_id=root.id,
        )
    )
    await harness.drain()
    reply = await harness.command(GDL, "/agora topics 7")
    text = to_plain(reply.text)
    homeless = harness.agora.tagger.name("homelessness", "es")
    assert text.startswith("Temas más comentados, últimos 7 días")
    assert f"{homeless}: 3 mensajes de 2 ciudades (nuevo)" in text
    assert "América del Norte" in text
    assert not reply.ephemeral
    assert reply.image is not None and reply.image[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", reply.image[16:24])
    assert width >= 600 and height >= 200


async def test_weekly_digest_is_scheduled_in_the_database_and_posted_once(make_harness: Callable[..., Any]) -> None:
    clock = {"now": dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC).timestamp()}  # a Wednesday
    h: Harness = await make_harness()
    h.agora.digests.clock = lambda: clock["now"]  # the report itself covers the real last 7 days
    reply = await h.command(RECIFE, "/agora digest on")
    assert "segunda-feira às 14:00 UTC" in to_plain(reply.text)
    await h.command(BOSTON, "/ask Has anyone written staff guidance for generative AI?")
    await h.drain()
    assert h.agora.digests.run_due() == 0  # first run only schedules
    due = next_slot(clock["now"], 0, 14)
    assert dt.datetime.fromtimestamp(due, dt.UTC) == dt.datetime(2026, 11, 30, 14, tzinfo=dt.UTC)
    await h.agora.stop(grace=1)

    h2: Harness = await make_harness()  # a restart keeps the schedule
    clock["now"] = due + 60
    h2.agora.digests.clock = lambda: clock["now"]
    assert h2.agora.digests.run_due() == 1
    assert h2.agora.digests.run_due() == 0
    await h2.drain()
    (digest,) = h2.adapter.posts[RECIFE]
    assert digest.text.startswith("Resumo semanal")
    assert "Perguntas sem resposta:" in digest.text and "generative AI" in digest.text
    assert not digest.msg.footer
    await h2.agora.stop(grace=1)


async def test_search_finds_questions_and_answers_across_languages(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask What staff guidance do you have for generative AI tools?")
    await harness.command(RECIFE, "/ask Como organizam a contagem de pessoas em situação de rua?")
    await harness.drain()
    root = harness.adapter.posts[BOSTON][1]  # Recife's question, as Boston sees it
    await harness.adapter.emit(
        IncomingMessage(
            BOSTON,
            "b7",
            Author("u", "Ana"),
            plain("We train volunteers for the point-in-time count."),
            thread_id=root.id,
        )
    )
    await harness.drain()
    # Spanish words find the Portuguese question through its topic and its stored translations.
    text = to_plain((await harness.command(GDL, "/agora search personas sin hogar")).text)
    assert text.startswith("Resultados para personas sin hogar:")
    assert "#2" in text
    # A word from an English answer finds its thread.
    assert "#2" in to_plain((await harness.command(GDL, "/agora search volunteers")).text)
    assert "#1" in to_plain((await harness.command(RECIFE, "/agora search IA generativa")).text)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "NEAR(a b)",
        "a AND OR NOT",
        "*",
        "-x",
        "col:val",
        "'; drop table messages; --",
        "^start",
        "(((",
        "\x00\x01",
        "\ud800",
        "🙂",
        "a" * 5000,
    ],
)
async def test_any_query_string_answers_without_an_error(harness: Harness, query: str) -> None:
    await harness.command(BOSTON, "/ask What staff guidance do you have for generative AI tools?")
    reply = to_plain((await harness.command(BOSTON, "/agora search " + query)).text)
    assert reply.startswith(("Results for", "Nothing found", "I could not understand", "Missing query"))
    assert harness.agora.store.message(1) is not None
