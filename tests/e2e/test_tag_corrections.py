"""Topic corrections end to end: ``/agora tag`` from Slack, Discord and the web playground.

The real Agora with all three adapters: Lima on the fake Discord (es), Boston on
the fake Slack (en), Recife on the web playground (pt). A manager corrects a
question's topics from their platform, gets the answer in their language, and
the next similar question, asked anywhere, arrives tagged the corrected way;
the hot-topics report counts the corrected tags.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Agora
from testing.discord_server import FakeDiscord
from testing.polling import relayed
from testing.slack_server import FakeSlack
from tests.cities import SLACK_BOSTON, three_cities

QUESTION = "Our tenants' union wants the council to publish every eviction filing as open data."
SIMILAR = "Our tenant union wants the city council to publish all eviction filings as open data."


@dataclass
class Americas:
    app: Agora
    discord: FakeDiscord
    slack: FakeSlack
    lima: int
    ana: int
    http: aiohttp.ClientSession

    @property
    def web(self) -> str:
        return str(self.app.adapters["web"].url)  # type: ignore[attr-defined]

    async def web_command(self, text: str) -> str:
        body = {"user": "Bia", "text": text}
        async with self.http.post(f"{self.web}api/channels/recife/messages", json=body) as response:
            assert response.status == 200, await response.text()
            return str((await response.json())["reply"])

    async def recife(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.web}api/channels/recife/messages") as response:
            found: list[dict[str, Any]] = await response.json()
        return found

    async def slack_command(self, text: str, user: str = "U0SAM") -> str:
        rid, _ = await self.slack.command("/agora", text, user=user, channel=SLACK_BOSTON)
        (response,) = await self.slack.wait_for(lambda: self.slack.responses_for(rid))
        return str(response["text"])

    async def discord_tag(self, message: str, changes: str, *, manager: bool = True) -> str:
        interaction = await self.discord.slash(
            self.lima,
            self.ana,
            "agora",
            {"message": message, "changes": changes},
            sub="tag",
            locale="es-419",
            manager=manager,
        )
        await self.discord.wait_for(lambda: interaction.followups)
        return str(interaction.followups[0]["content"])

    def lima_posts(self) -> list[str]:
        return [str(r["content"]) for r in self.discord.records.get(str(self.lima), []) if r["op"] == "post"]

    async def until(self, check: Callable[[], Awaitable[Any]]) -> Any:
        return await relayed(self.app.outbox, check)

    def topics(self, message_id: int) -> tuple[str, ...]:
        msg = self.app.store.message(message_id)
        assert msg is not None
        return msg.topics


@pytest.fixture
async def americas(tmp_path: Path) -> AsyncIterator[Americas]:
    async with three_cities(tmp_path) as cities, aiohttp.ClientSession() as http:
        assert cities.slack is not None
        yield Americas(cities.app, cities.discord, cities.slack, cities.lima, cities.ana, http)


async def test_a_correction_on_slack_tags_the_next_similar_question_everywhere(americas: Americas) -> None:
    await americas.web_command("/ask " + QUESTION)
    assert "data-governance" in americas.topics(1)

    refused = await americas.slack_command("tag 1 +budget -data-governance", user="U0BIA")
    assert refused == "Só quem administra este canal pode fazer isso."
    assert americas.app.store.tag_corrections() == []

    answer = await americas.slack_command("tag 1 +budget -data-governance")
    assert answer.startswith("Message #1 is now tagged: Budget")
    assert americas.topics(1)[0] == "budget" and "data-governance" not in americas.topics(1)

    async def footer_edited() -> list[dict[str, Any]]:
        return [e for e in americas.slack.records_for(SLACK_BOSTON, "update") if "🏷 Budget" in e["text"]]

    (edit,) = await americas.until(footer_edited)  # the copy already posted shows the corrected topics
    assert "Data governance" not in edit["text"] and "tenants' union" in edit["text"]

    await americas.web_command("/ask " + SIMILAR)
    assert americas.topics(2)[0] == "budget" and "data-governance" not in americas.topics(2)

    async def similar_on_slack() -> list[dict[str, Any]]:
        return [p for p in americas.slack.records_for(SLACK_BOSTON, "post") if "tenant union" in p["text"]]

    (post,) = await americas.until(similar_on_slack)
    assert "🏷 Budget" in post["text"] and "Data governance" not in post["text"]
    (mine,) = [m for m in await americas.recife() if m["id"] and "tenant union" in m["original_text"]]
    assert mine["topics"][0] == "budget"


async def test_a_correction_on_discord_answers_in_spanish_and_feeds_the_report(americas: Americas) -> None:
    await americas.web_command("/ask " + QUESTION)
    refused = await americas.discord_tag("1", "+presupuesto -data-governance", manager=False)
    assert refused == "Solo quienes administran este canal pueden hacer eso."

    answer = await americas.discord_tag("#1", "+presupuesto -data-governance")
    assert answer.startswith("El mensaje #1 ahora tiene los temas: Presupuesto")
    assert americas.topics(1)[0] == "budget"

    async def footer_edited() -> list[str]:
        records = americas.discord.records.get(str(americas.lima), [])
        return [str(r["content"]) for r in records if r["op"] == "edit" and "🏷 Presupuesto" in str(r["content"])]

    (edit,) = await americas.until(footer_edited)  # Lima's copy of the question shows the corrected topics
    assert "Gobernanza de datos" not in edit

    await americas.web_command("/ask " + SIMILAR)

    async def similar_on_discord() -> list[str]:
        return [p for p in americas.lima_posts() if "tenant union" in p]

    (post,) = await americas.until(similar_on_discord)
    assert "🏷 Presupuesto" in post and "Gobernanza de datos" not in post
    report = await americas.web_command("/agora topics 7")
    assert "Orçamento: 2 mensagens de 1 cidades" in report


async def test_a_correction_on_the_web_playground(americas: Americas) -> None:
    await americas.web_command("/ask " + QUESTION)
    answer = await americas.web_command("/agora tag 1 +orçamento -data-governance")
    assert answer.startswith("A mensagem #1 agora tem os temas: Orçamento")
    bad = await americas.web_command("/agora tag 1 orçamento")
    assert bad.startswith("Escreva cada tema com + para adicioná-lo ou - para removê-lo")
    await americas.web_command("/ask " + SIMILAR)

    async def listed() -> list[dict[str, Any]]:
        return [m for m in await americas.recife() if "tenant union" in m["original_text"]]

    (similar,) = await americas.until(listed)
    assert similar["topics"][0] == "budget" and "data-governance" not in similar["topics"]
    assert similar["topic_labels"][0] == "Orçamento"
    (first,) = [m for m in await americas.recife() if "tenants' union" in m["original_text"]]
    assert first["topics"][0] == "budget" and "data-governance" not in first["topics"]
