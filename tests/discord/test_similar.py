"""Similar past questions on Discord: the asker alone sees them, in the /ask answer (ephemeral).

The real Agora with the Discord adapter (discord.py against the fake Discord on
127.0.0.1), the web playground as the other city, the real sentence embedder and
the marking translator.
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
from testing.discord_server import FakeDiscord
from testing.polling import drain
from tests.cities import boston_and_lima

EARLIER = "How do you budget for replacing aging water pipes?"
LATER = "¿De dónde sacan el presupuesto para cambiar las tuberías de agua viejas?"
EPHEMERAL = 64


class Network:
    def __init__(self, app: Agora, fake: FakeDiscord, lima: int, ana: int) -> None:
        self.app = app
        self.fake = fake
        self.lima = lima
        self.ana = ana

    async def ask_in_boston(self, question: str) -> dict[str, Any]:
        url = str(getattr(self.app.adapters["web"], "url"))  # noqa: B009 - not on the Adapter protocol
        async with aiohttp.ClientSession() as http:
            body = {"user": "Sam", "text": f"/ask {question}"}
            async with http.post(f"{url}api/channels/boston/messages", json=body) as resp:
                assert resp.status == 200
                answer: dict[str, Any] = json.loads(await resp.text())
        await drain(self.app.outbox)
        return answer


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[Network]:
    async with boston_and_lima(tmp_path) as cities:
        assert cities.app.embedder is not None
        await asyncio.to_thread(cities.app.embedder.embed, ["warm"])  # the model's first load is not under test
        yield Network(cities.app, cities.discord, cities.lima, cities.ana)


async def test_a_discord_asker_sees_the_earlier_english_question_ephemerally(network: Network) -> None:
    fake = network.fake
    first = await network.ask_in_boston(EARLIER)
    assert first["similar"] == []
    earlier = max(m.id for m in network.app.store.messages_since("americas", 0) if m.kind == "question")

    ask = await fake.slash(network.lima, network.ana, "ask", {"question": LATER}, locale="es-419")
    (answer,) = await fake.wait_for(lambda: ask.followups)

    assert answer["flags"] & EPHEMERAL
    assert ask.callbacks[0]["data"]["flags"] & EPHEMERAL  # deferred ephemerally: nobody else sees the wait either
    lines = answer["content"].split("\n")
    assert lines[1] == "Ya se preguntó en la red (quizá le sirva):"
    assert "Boston" in lines[2] and f"/agora original {earlier}" in lines[2]
    assert "[es] How do you budget for replacing aging water pipes?" in lines[2]
    # The question itself was relayed to Boston all the same.
    await drain(network.app.outbox)
    assert any(m.city == "Lima" and m.kind == "question" for m in network.app.store.messages_since("americas", 0))


async def test_agora_similar_on_discord(network: Network) -> None:
    fake = network.fake
    await network.ask_in_boston(EARLIER)
    later = await network.ask_in_boston("Where does the money for replacing old water mains come from?")
    (suggestion,) = later["similar"]

    ask = await fake.slash(
        network.lima, network.ana, "agora", {"message": str(suggestion["message_id"])}, sub="similar", locale="es-419"
    )
    (answer,) = await fake.wait_for(lambda: ask.followups)
    assert answer["flags"] & EPHEMERAL
    assert answer["content"].startswith(f"Preguntas parecidas a #{suggestion['message_id']}:")
    assert "Boston" in answer["content"]
