"""End to end through the real core: a question asked on Discord reaches the web playground (and
Slack) translated, the answers travel back into the question's Discord thread, edits and deletes
follow.

Everything is real except the far ends: discord.py talks to the fake Discord, slack-bolt to the
fake Slack, the web adapter serves its API on 127.0.0.1, and a marking translator shows which
language each copy is in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.discord.markup import parse
from bot.app import Agora
from bot.richtext import from_json, to_plain
from testing.discord_server import FakeDiscord
from testing.polling import drain, relayed
from testing.slack_server import FakeSlack
from tests.cities import SLACK_BOSTON, boston_and_lima, three_cities


class Network:
    """Agora running with the web playground (Boston, en) and a Discord server (Lima, es)."""

    def __init__(self, app: Agora, fake: FakeDiscord, lima: int, ana: int, http: aiohttp.ClientSession) -> None:
        self.app = app
        self.fake = fake
        self.lima = lima
        self.ana = ana
        self.http = http
        self.web_url = str(app.adapters["web"].url)  # type: ignore[attr-defined]

    async def drain(self) -> None:
        await drain(self.app.outbox)

    async def boston(self) -> list[dict[str, Any]]:
        """Boston's messages, each with ``plain``: its text without the page's markup."""
        async with self.http.get(f"{self.web_url}api/channels/boston/messages") as response:
            assert response.status == 200
            messages: list[dict[str, Any]] = await response.json()
        for message in messages:
            message["plain"] = to_plain(from_json(message["segments"]))
        return messages

    async def post_boston(self, user: str, text: str, thread_id: int | None = None) -> int:
        body: dict[str, Any] = {"user": user, "text": text}
        if thread_id is not None:
            body["thread_id"] = thread_id
        async with self.http.post(f"{self.web_url}api/channels/boston/messages", json=body) as response:
            assert response.status == 201, await response.text()
            return int((await response.json())["id"])

    def lima_posts(self, op: str = "post") -> list[dict[str, Any]]:
        """What the fake Discord accepted in Lima, each post with ``plain``: its text without markup."""
        records = [r for r in self.fake.records.get(str(self.lima), []) if r["op"] == op]
        return [dict(r, plain=to_plain(parse(r["content"]))) if "content" in r else r for r in records]


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[Network]:
    async with boston_and_lima(tmp_path) as cities, aiohttp.ClientSession() as http:
        yield Network(cities.app, cities.discord, cities.lima, cities.ana, http)


async def test_a_question_from_discord_is_answered_on_the_web_and_back(network: Network) -> None:
    fake = network.fake
    ask = await fake.slash(
        network.lima, network.ana, "ask", {"question": "¿Cómo cuentan a las personas sin hogar?"}, locale="es-419"
    )
    await fake.wait_for(lambda: ask.followups)
    await network.drain()

    # Lima sees its own question as a thread root, posted under the asker's name.
    (question,) = network.lima_posts()
    assert question["username"] == "Ana (Lima)"
    assert question["content"].startswith("¿Cómo cuentan a las personas sin hogar?")
    assert question["allowed_mentions"] == {"parse": []}
    (thread,) = network.lima_posts("thread")
    assert thread["message_id"] == question["message_id"]

    # Boston (web, English) gets it translated, with the Spanish original kept.
    (copy,) = await network.boston()
    assert copy["plain"].startswith("[en] ¿Cómo cuentan") and copy["user"] == "Ana (Lima)"
    assert copy["original_lang"] == "es"

    # A Boston answer on the web goes into the question's Discord thread, in Spanish.
    await network.post_boston("Sam", "We use a point-in-time count every January.", thread_id=copy["id"])
    await network.drain()
    answer = network.lima_posts()[-1]
    assert answer["thread_id"] == question["message_id"]
    assert answer["plain"].startswith("[es] We use a point-in-time count") and answer["username"] == "Sam (Boston)"

    # A Lima answer in the Discord thread comes back to Boston's thread, in English.
    reply = await fake.user_message(
        network.lima, network.ana, "Gracias, ¿y los refugios?", thread_id=int(question["message_id"])
    )
    boston = await _until(network, lambda msgs: any(m["plain"].startswith("[en] Gracias") for m in msgs))
    back = [m for m in boston if m["plain"].startswith("[en] Gracias")]
    assert len(back) == 1 and back[0]["thread_id"] == copy["id"] and back[0]["user"] == "Ana (Lima)"

    # Edits and deletes on Discord follow to the web.
    await fake.user_edit(int(reply["id"]), "Gracias, ¿y los albergues?")
    await _until(network, lambda msgs: any(m["plain"].startswith("[en] Gracias, ¿y los albergues") for m in msgs))
    await fake.user_delete(int(reply["id"]))
    await _until(network, lambda msgs: not any(m["plain"].startswith("[en] Gracias") for m in msgs))


async def _until(network: Network, check: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """Boston's messages once they pass ``check`` (Discord events arrive over the gateway first)."""

    async def boston() -> list[dict[str, Any]] | None:
        messages = await network.boston()
        return messages if check(messages) else None

    found: list[dict[str, Any]] = await relayed(network.app.outbox, boston, "Boston to show the change")
    return found


# ---------------------------------------------------------------- Discord, Slack and the web together


@pytest.fixture
async def americas(tmp_path: Path) -> AsyncIterator[tuple[Agora, FakeDiscord, FakeSlack, int, int]]:
    """Lima on Discord (es), Boston on Slack (en), Recife on the web playground (pt)."""
    async with three_cities(tmp_path) as cities:
        assert sorted(cities.app.adapters) == ["discord", "slack", "web"] and cities.slack is not None
        yield cities.app, cities.discord, cities.slack, cities.lima, cities.ana


async def test_a_discord_question_travels_to_slack_and_the_web_and_answers_come_back(
    americas: tuple[Agora, FakeDiscord, FakeSlack, int, int],
) -> None:
    app, discord, slack, lima, ana = americas
    async with aiohttp.ClientSession() as http:
        web = str(app.adapters["web"].url)  # type: ignore[attr-defined]

        async def recife() -> list[dict[str, Any]]:
            async with http.get(f"{web}api/channels/recife/messages") as response:
                found: list[dict[str, Any]] = await response.json()
            return [dict(m, plain=to_plain(from_json(m["segments"]))) for m in found]

        def lima_posts() -> list[dict[str, Any]]:
            return [
                dict(r, plain=to_plain(parse(r["content"])))
                for r in discord.records.get(str(lima), [])
                if r["op"] == "post"
            ]

        async def until(check: Callable[[], Any]) -> Any:
            return await relayed(app.outbox, check)

        ask = await discord.slash(lima, ana, "ask", {"question": "¿Cómo cuentan a las familias en los albergues?"})
        await discord.wait_for(lambda: ask.followups)
        await drain(app.outbox)

        (question,) = lima_posts()
        (slack_root,) = [p for p in slack.records_for(SLACK_BOSTON, "post") if p["thread_ts"] is None]
        assert slack_root["text"].startswith("[en] ¿Cómo cuentan") and slack_root["username"].startswith("Ana")
        (web_root,) = await recife()
        assert web_root["plain"].startswith("[pt] ¿Cómo cuentan")

        # Boston answers in its Slack thread: Lima's Discord thread gets it in Spanish, Recife in Portuguese.
        await slack.user_posts(SLACK_BOSTON, "U0SAM", "We count households, not people.", thread_ts=slack_root["ts"])

        async def answered() -> list[dict[str, Any]]:
            in_thread = [p for p in lima_posts() if p["thread_id"] == question["message_id"]]
            on_web = [m for m in await recife() if m["thread_id"] == web_root["id"]]
            return in_thread if in_thread and on_web else []

        (lima_answer,) = await until(answered)
        assert lima_answer["plain"].startswith("[es] We count households") and lima_answer["username"].startswith("Sam")
        (web_answer,) = [m for m in await recife() if m["thread_id"] == web_root["id"]]
        assert web_answer["plain"].startswith("[pt] We count households")

        # Lima answers in the Discord thread: Boston's Slack thread gets it in English.
        await discord.user_message(
            lima, ana, "Gracias, nosotros contamos personas.", thread_id=int(question["message_id"])
        )

        async def thanked() -> list[dict[str, Any]]:
            return [
                p
                for p in slack.records_for(SLACK_BOSTON, "post")
                if p["thread_ts"] == slack_root["ts"] and p["text"].startswith("[en] Gracias")
            ]

        (thanks,) = await until(thanked)
        assert thanks["username"].startswith("Ana")
        await slack.settle()
