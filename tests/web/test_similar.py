"""Similar past questions on the web playground: the ``similar`` list of the ``/ask`` answer.

The real Agora with the real web adapter and the real sentence embedder; only the
translator is the marking one, so a suggestion shown from a stored translation is
recognisable ("[en] ...").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Agora
from bot.richtext import from_json, to_plain
from testing.polling import drain
from testing.translator import MarkingTranslator
from tests.web.conftest import web_config

EARLIER = "Como vocês fazem a contagem anual da população em situação de rua? Usam voluntários ou equipe contratada?"
LATER = "For the point-in-time count of unsheltered people, do you rely on volunteers or paid staff?"
UNRELATED = "How do you manage stray dogs in public parks?"


class Client:
    def __init__(self, agora: Agora, session: aiohttp.ClientSession) -> None:
        self.agora = agora
        self.session = session

    async def post(self, cid: str, text: str, *, thread_id: int | None = None, status: int = 200) -> Any:
        body: dict[str, Any] = {"user": "Ana", "text": text}
        if thread_id is not None:
            body["thread_id"] = thread_id
        async with self.session.post(f"/api/channels/{cid}/messages", json=body) as resp:
            raw = await resp.text()
            assert resp.status == status, raw
            return json.loads(raw)

    async def ask(self, cid: str, question: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.post(cid, f"/ask {question}")
        await drain(self.agora.outbox)
        return answer

    async def messages(self, cid: str) -> list[dict[str, Any]]:
        async with self.session.get(f"/api/channels/{cid}/messages") as resp:
            assert resp.status == 200
            found: list[dict[str, Any]] = await resp.json()
            return found


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Client]:
    agora = Agora(web_config(tmp_path / "agora.db"), translator=MarkingTranslator())
    assert agora.embedder is not None
    await asyncio.to_thread(agora.embedder.embed, ["warm"])  # the model's first load is not under test here
    await agora.start()
    try:
        url: str = getattr(agora.adapters["web"], "url")  # noqa: B009 - not on the Adapter protocol
        async with aiohttp.ClientSession(base_url=url) as session:
            yield Client(agora, session)
    finally:
        await agora.stop(grace=1)


async def test_ask_suggests_the_earlier_question_from_another_language(web: Client) -> None:
    first = await web.ask("recife", EARLIER)
    assert first["similar"] == []  # nothing earlier in the network
    (copy,) = [m for m in await web.messages("guadalajara") if m["thread_id"] is None]
    await web.post("guadalajara", "Aquí usamos voluntarios con capacitación.", thread_id=copy["id"], status=201)
    await drain(web.agora.outbox)

    answer = await web.ask("boston", LATER)

    (suggestion,) = answer["similar"]
    assert set(suggestion) == {"message_id", "city", "text", "answers", "score"}
    assert suggestion["message_id"] == copy["message_id"]
    assert suggestion["city"] == "Recife"
    assert suggestion["text"].startswith("[en] Como vocês fazem")  # Boston's stored translation, not the original
    assert suggestion["answers"] == 1
    assert web.agora.similar is not None and suggestion["score"] >= web.agora.similar.tuning.threshold
    assert f"/agora original {copy['message_id']}" in answer["reply"]
    assert "Recife" in answer["reply"] and "1 answer" in answer["reply"]

    # The new question was relayed all the same.
    assert any(m["original_text"] == LATER for m in await web.messages("recife"))


async def test_an_unrelated_question_gets_no_suggestion(web: Client) -> None:
    await web.ask("recife", EARLIER)
    answer = await web.ask("guadalajara", "¿Cómo manejan el ruido de los bares los fines de semana?")
    assert answer["similar"] == []
    answer = await web.ask("boston", UNRELATED)
    assert answer["similar"] == []
    assert "/agora original" not in answer["reply"]


async def test_agora_similar_lists_questions_like_any_message(web: Client) -> None:
    await web.ask("recife", EARLIER)
    await web.ask("boston", UNRELATED)
    later = await web.ask("guadalajara", "¿Cómo hacen el conteo de personas en situación de calle con voluntarios?")
    (earlier,) = later["similar"]

    answer = await web.post("boston", f"/agora similar {earlier['message_id']}")
    assert [s["city"] for s in answer["similar"]] == ["Guadalajara"]
    assert to_plain(from_json(answer["reply_segments"][0])).startswith(f"Questions like #{earlier['message_id']}:")

    lonely = await web.post("boston", "/agora similar 2")  # the stray-dogs question
    assert lonely["similar"] == [] and "close enough" in lonely["reply"]

    unknown = await web.post("boston", "/agora similar 999")
    assert "999" in unknown["reply"] and "similar" not in unknown


async def test_an_edited_question_is_suggested_for_what_it_now_asks(web: Client) -> None:
    await web.ask("recife", "Vocês usam IA para transcrever e resumir as audiências públicas?")
    (own,) = [m for m in await web.messages("recife") if m["own"]]
    async with web.session.patch(f"/api/channels/recife/messages/{own['id']}", json={"text": EARLIER}) as resp:
        assert resp.status == 200, await resp.text()
    await drain(web.agora.outbox)

    answer = await web.ask("boston", LATER)
    assert [s["message_id"] for s in answer["similar"]] == [own["message_id"]]
    answer = await web.ask(
        "guadalajara", "¿Alguien usa inteligencia artificial para hacer las actas de las audiencias?"
    )
    assert own["message_id"] not in [s["message_id"] for s in answer["similar"]]
