"""``/agora tag <id> +topic -topic`` through the real core: stored per network, used at once, in the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Agora
from bot.events import Author, IncomingMessage
from bot.richtext import plain, to_plain
from bot.testing import CollectingAdapter
from testing.translator import MarkingTranslator
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness, demo_config

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

QUESTION = "Our tenants' union wants the council to publish every eviction filing as open data."
SIMILAR = "Our tenant union wants the city council to publish all eviction filings as open data."


def topics_of(h: Harness, message_id: int) -> tuple[str, ...]:
    msg = h.agora.store.message(message_id)
    assert msg is not None
    return msg.topics


async def test_a_manager_corrects_a_question_and_its_thread(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask " + QUESTION)
    await harness.drain()
    root = harness.adapter.posts[GDL][0]
    await harness.adapter.emit(
        IncomingMessage(GDL, "r1", Author("u", "Luis"), plain("Nosotros lo hicimos el año pasado."), thread_id=root.id)
    )
    await harness.drain()
    assert "data-governance" in topics_of(harness, 1)

    reply = await harness.command(GDL, "/agora tag #1 +presupuesto -data-governance", locale="es-MX")
    budget = harness.agora.tagger.name("budget", "es")
    assert to_plain(reply.text).startswith(f"El mensaje #1 ahora tiene los temas: {budget}")
    assert topics_of(harness, 1)[0] == "budget" and "data-governance" not in topics_of(harness, 1)
    assert "budget" in topics_of(harness, 2) and "data-governance" not in topics_of(harness, 2)
    (stored,) = harness.agora.store.tag_corrections("demo")
    assert (stored.message_id, stored.added, stored.removed) == (1, ("budget",), ("data-governance",))
    assert stored.vector is not None and len(stored.vector) == 512 * 4


async def test_the_next_similar_message_is_tagged_the_corrected_way(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask " + QUESTION)
    await harness.command(RECIFE, "/agora tag 1 +budget -data-governance")
    await harness.command(BOSTON, "/ask " + SIMILAR)
    await harness.command(BOSTON, "/ask How do you staff overnight homeless shelters in winter?")
    assert topics_of(harness, 2)[0] == "budget" and "data-governance" not in topics_of(harness, 2)
    assert topics_of(harness, 3) == ("homelessness",)


async def test_corrections_survive_a_restart(make_harness) -> None:  # type: ignore[no-untyped-def]
    h: Harness = await make_harness()
    await h.command(BOSTON, "/ask " + QUESTION)
    await h.command(BOSTON, "/agora tag 1 +budget -data-governance")
    await h.agora.stop(grace=1)
    h2: Harness = await make_harness()
    await h2.command(BOSTON, "/ask " + SIMILAR)
    assert topics_of(h2, 2)[0] == "budget"
    await h2.agora.stop(grace=1)


async def test_only_managers_correct_and_mistakes_change_nothing(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask " + QUESTION)
    before = topics_of(harness, 1)
    refused = await harness.command(BOSTON, "/agora tag 1 +budget", can_manage=False)
    assert to_plain(refused.text) == "Only people who can manage this channel may do that."
    bad = await harness.command(RECIFE, "/agora tag 1 orçamento")
    assert to_plain(bad.text).startswith("Escreva cada tema com + para adicioná-lo ou - para removê-lo")
    assert "/agora tag <message> <changes…>" in to_plain(bad.text)
    unknown = await harness.command(GDL, "/agora tag 1 +dragones")
    assert to_plain(unknown.text).startswith("Tema desconocido: dragones.")
    missing = await harness.command(BOSTON, "/agora tag 99 +budget")
    assert to_plain(missing.text) == "I can't find message 99 in this network."
    assert topics_of(harness, 1) == before
    assert harness.agora.store.tag_corrections() == []


async def test_report_and_digest_use_corrected_tags_and_the_readers_language(harness: Harness) -> None:
    await harness.command(RECIFE, "/ask Como vocês organizam a contagem de pessoas em situação de rua?")
    await harness.drain()
    await harness.command(BOSTON, "/agora tag 1 +housing")
    text = to_plain((await harness.command(GDL, "/agora topics 7")).text)
    housing = harness.agora.tagger.name("housing", "es")
    assert f"{housing}: 1 mensajes de 1 ciudades" in text
    # the question as Guadalajara read it (the stored Spanish translation), with its id
    assert "#1 [es] Como vocês organizam" in text
    english = to_plain(harness.agora.reports.digest("demo", "en"))
    assert "#1 (Recife) [en] Como vocês organizam" in english
    portuguese = to_plain(harness.agora.reports.digest("demo", "pt"))
    assert "#1 (Recife) Como vocês organizam" in portuguese


async def test_replies_inherit_their_questions_topics_through_the_relay(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask How do you staff overnight homeless shelters in winter?")
    await harness.drain()
    root = harness.adapter.posts[GDL][0]
    for i, text in enumerate(
        [
            "Nosotros lo hicimos el año pasado con voluntarios de las parroquias y funcionó bien.",
            "¡Muchas gracias!",
        ]
    ):
        await harness.adapter.emit(IncomingMessage(GDL, f"r{i}", Author("u", "Luis"), plain(text), thread_id=root.id))
    await harness.drain()
    assert topics_of(harness, 1) == ("homelessness",)
    assert topics_of(harness, 2) == ("homelessness",)  # an answer that names no topic is about its question
    assert topics_of(harness, 3) == ()  # thanks are not


async def test_a_broken_embedder_never_stops_the_relay(tmp_path: Path) -> None:
    from tests.topics.test_topic_learning import BrokenEmbedder

    adapter = CollectingAdapter("fake")
    app = Agora(
        demo_config(tmp_path / "agora.db"),
        adapters={"fake": adapter},
        translator=MarkingTranslator(),
        embedder=BrokenEmbedder(),
    )
    await app.start()
    h = Harness(app, adapter, MarkingTranslator())
    try:
        reply = await h.command(BOSTON, "/ask How do you staff overnight homeless shelters in winter?")
        assert to_plain(reply.text).startswith("Your question #1 is on its way")
        await h.drain()
        assert topics_of(h, 1) == ("homelessness",) and len(adapter.texts(GDL)) == 1
        corrected = await h.command(BOSTON, "/agora tag 1 +housing")
        assert to_plain(corrected.text).startswith("Message #1 is now tagged: Housing")
    finally:
        await app.stop(grace=1)


async def test_erasing_a_message_forgets_its_correction(harness: Harness) -> None:
    await harness.command(BOSTON, "/ask " + QUESTION)
    await harness.command(BOSTON, "/agora tag 1 +budget")
    assert len(harness.agora.store.tag_corrections("demo")) == 1
    harness.agora.store.erase_messages([1])
    assert harness.agora.store.tag_corrections() == []
