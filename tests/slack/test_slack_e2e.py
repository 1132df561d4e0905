"""End to end: a question from a Slack channel reaches a web-playground city in Spanish, and the
answer comes back into the Slack thread in English.

The real Agora builds both adapters from their entry points, as ``agora run``
does; Slack is the fake on 127.0.0.1 (Socket Mode), the playground is spoken to
over its HTTP API, and only the translator is the deterministic test one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Agora
from bot.richtext import from_json, to_plain
from testing.polling import drain
from testing.slack_server import FakeSlack
from tests.slack.conftest import BOSTON, slack_and_web_agora

QUESTION = "How do your shelters count families with children?"
ANSWER = "En Guadalajara contamos por hogar, no por persona."


@pytest.fixture
async def agora(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Agora]:
    bot = slack_and_web_agora(fake, tmp_path)
    assert sorted(bot.adapters) == ["slack", "web"]
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop(grace=1)


def shown(message: dict[str, Any]) -> str:
    """What a playground reader sees."""
    return to_plain(from_json(message["segments"]))


def web_url(agora: Agora) -> str:
    url: str = getattr(agora.adapters["web"], "url")  # noqa: B009 - not on the Adapter protocol
    return url.rstrip("/")


async def web_messages(agora: Agora, session: aiohttp.ClientSession) -> list[dict[str, Any]]:
    async with session.get(f"{web_url(agora)}/api/channels/guadalajara/messages") as resp:
        assert resp.status == 200
        found: list[dict[str, Any]] = await resp.json()
        return found


async def test_question_from_slack_and_answer_from_the_web(fake: FakeSlack, agora: Agora) -> None:
    rid, _ = await fake.command("/ask", QUESTION, user="U0ANA", channel=BOSTON)
    (confirmation,) = await fake.wait_for(lambda: fake.responses_for(rid))
    assert "#" in confirmation["text"]  # "Your question #1 is on its way…", in Ana's language (en-US)
    await drain(agora.outbox)

    async with aiohttp.ClientSession() as session:
        (question,) = await web_messages(agora, session)
        assert question["lang"] == "es" and question["original_lang"] == "en"
        assert shown(question).startswith(f"[es] {QUESTION}")
        assert question["user"].startswith("Ana")

        body = {"user": "Luis", "text": ANSWER, "thread_id": question["id"]}
        async with session.post(f"{web_url(agora)}/api/channels/guadalajara/messages", json=body) as resp:
            assert resp.status == 201
    await drain(agora.outbox)

    # The Slack side: the question's copy is a thread root in #boston, the answer is in its thread,
    # posted under the author's name and stamped with its nonce.
    posts = fake.records_for(BOSTON, "post")
    roots = [p for p in posts if p["thread_ts"] is None and QUESTION in p["text"]]
    assert len(roots) == 1
    answers = [p for p in posts if p["thread_ts"] == roots[0]["ts"]]
    assert len(answers) == 1
    answer = answers[0]
    assert answer["text"].startswith(f"[en] {ANSWER}")
    assert answer["username"].startswith("Luis") and answer["nonce"]

    # A Slack reply in that thread travels back to the playground in Spanish.
    await fake.user_posts(BOSTON, "U0ANA", "Thank you, that helps a lot.", thread_ts=roots[0]["ts"])
    async with aiohttp.ClientSession() as session:
        for _ in range(300):  # the adapter hands the event to the core just after acknowledging it
            await drain(agora.outbox)
            found = [m for m in await web_messages(agora, session) if "Thank you" in shown(m)]
            if found:
                break
            await asyncio.sleep(0.01)
    (thanks,) = found
    assert thanks["thread_id"] == question["id"] and shown(thanks).startswith("[es] ")
    # and none of Agora's own posts came back to Slack as a loop
    await fake.settle()
    assert len(fake.records_for(BOSTON, "post")) == len(posts)
