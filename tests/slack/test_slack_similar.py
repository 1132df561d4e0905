"""Similar past questions on Slack: the asker alone sees them, in the /ask answer (ephemeral).

The real Agora with the Slack adapter (Socket Mode, fake Slack on 127.0.0.1), the
web playground as the other city, the real sentence embedder and the marking
translator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import Agora
from testing.polling import drain
from testing.slack_server import FakeSlack
from tests.slack.conftest import BOSTON, slack_and_web_agora

EARLIER = (
    "¿Tienen albergues que acepten mascotas? Muchas personas sin hogar no entran porque no quieren dejar a su perro."
)
LATER = "Do any of your shelters allow pets? People refuse beds because they won't leave their dogs."


@pytest.fixture
async def agora(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Agora]:
    bot = slack_and_web_agora(fake, tmp_path)
    assert bot.embedder is not None
    await asyncio.to_thread(bot.embedder.embed, ["warm"])  # the model's first load is not under test here
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop(grace=1)


async def ask_on_the_web(agora: Agora, question: str) -> int:
    url = str(getattr(agora.adapters["web"], "url"))  # noqa: B009 - not on the Adapter protocol
    async with aiohttp.ClientSession() as http:
        body = {"user": "Luis", "text": f"/ask {question}"}
        async with http.post(f"{url}api/channels/guadalajara/messages", json=body) as resp:
            assert resp.status == 200
            answer = json.loads(await resp.text())
    assert answer["similar"] == []
    await drain(agora.outbox)
    found = agora.store.messages_since("wwc", 0)
    return max(m.id for m in found if m.kind == "question")


async def test_a_slack_asker_sees_the_earlier_spanish_question_ephemerally(fake: FakeSlack, agora: Agora) -> None:
    earlier = await ask_on_the_web(agora, EARLIER)

    rid, _ = await fake.command("/ask", LATER, user="U0ANA", channel=BOSTON)
    (answer,) = await fake.wait_for(lambda: fake.responses_for(rid))

    assert answer["response_type"] == "ephemeral"
    lines = answer["text"].split("\n")
    assert lines[0].startswith("Your question #")
    assert "Guadalajara" in lines[2] and f"/agora original {earlier}" in lines[2]
    assert "[en] ¿Tienen albergues" in lines[2]  # in the asker's language, from the stored translation
    await drain(agora.outbox)  # and the question still went to Guadalajara
    assert any(m.text and m.kind == "question" and m.city == "Boston" for m in agora.store.messages_since("wwc", 0))


async def test_no_suggestion_for_an_unrelated_question_on_slack(fake: FakeSlack, agora: Agora) -> None:
    await ask_on_the_web(agora, EARLIER)

    rid, _ = await fake.command(
        "/ask", "How do you schedule snow plowing on residential streets?", user="U0ANA", channel=BOSTON
    )
    (answer,) = await fake.wait_for(lambda: fake.responses_for(rid))

    assert answer["response_type"] == "ephemeral"
    assert "\n" not in answer["text"] and "/agora original" not in answer["text"]
