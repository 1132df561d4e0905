"""The issue-12 "low" findings on the web API: each gets a clear 4xx in the caller's language and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Agora
from bot.i18n import default_catalog
from testing.polling import drain
from testing.translator import MarkingTranslator
from tests.database import dump
from tests.web.conftest import web_config

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

CATALOG = default_catalog()


class Api:
    def __init__(self, agora: Agora, session: aiohttp.ClientSession) -> None:
        self.agora = agora
        self.session = session

    def dump(self) -> str:
        return dump(self.agora.db)

    async def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        async with self.session.request(method, path, **kwargs) as resp:
            text = await resp.text()
            assert resp.status == status, f"{method} {path}: {resp.status} {text[:300]}"
            return json.loads(text)


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    agora = Agora(web_config(tmp_path / "agora.db", database_url), translator=MarkingTranslator(), environ={})
    await agora.start()
    try:
        async with aiohttp.ClientSession(base_url=getattr(agora.adapters["web"], "url")) as session:  # noqa: B009
            yield Api(agora, session)
    finally:
        await agora.stop(grace=1)


MESSAGES = "/api/channels/{cid}/messages"


@pytest.mark.parametrize("thread_id", ["9" * 5000, "1" * 19, "١", "１", "0x10", " 7"])
async def test_odd_thread_ids_are_a_400_in_the_channels_language(api: Api, thread_id: str) -> None:
    await api.call("POST", MESSAGES.format(cid="guadalajara"), 201, json={"user": "Luis", "text": "hola"})
    before = api.dump()
    answer = await api.call(
        "POST",
        MESSAGES.format(cid="guadalajara"),
        400,
        json={"user": "Luis", "text": "respuesta", "thread_id": thread_id},
    )
    assert answer["error"] == CATALOG.t("error.bad_thread", "es")
    assert api.dump() == before


async def test_json_nested_100000_deep_is_a_400(api: Api) -> None:
    before = api.dump()
    body = '{"user": "Ana", "text": "hi", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = await api.call(
        "POST", MESSAGES.format(cid="boston"), 400, data=body, headers={"Content-Type": "application/json"}
    )
    assert "JSON object" in answer["error"]
    assert api.dump() == before


@pytest.mark.parametrize("user", ["\x01\x02\x03", "\u200b\u200b", "\u202e", "\x00 \u2066\u2069 "])
async def test_a_name_of_only_control_or_invisible_characters_is_refused(api: Api, user: str) -> None:
    before = api.dump()
    answer = await api.call("POST", MESSAGES.format(cid="recife"), 400, json={"user": user, "text": "olá"})
    assert answer["error"] == CATALOG.t("error.bad_user", "pt", limit=80)
    assert api.dump() == before


async def test_bidi_overrides_and_zero_width_characters_leave_names(api: Api) -> None:
    await api.call("POST", MESSAGES.format(cid="boston"), 201, json={"user": "Ana\u202e\u200bnimdA\x07", "text": "hi"})
    [message] = await api.call("GET", MESSAGES.format(cid="boston"), 200)
    assert message["user"] == "AnanimdA"
    # A name made long only by invisible characters is judged by what shows.
    await api.call("POST", MESSAGES.format(cid="boston"), 201, json={"user": "Bo" + "\u200b" * 200, "text": "hi"})


async def test_an_ask_of_only_zero_width_characters_is_refused_as_empty(api: Api) -> None:
    before = api.dump()
    answer = await api.call(
        "POST", MESSAGES.format(cid="boston"), 200, json={"user": "Ana", "text": "/ask \u200b\u200c\u200d\ufeff\u2060"}
    )
    assert answer["reply"] == CATALOG.t("error.empty_text", "en")
    plain_zw = await api.call("POST", MESSAGES.format(cid="boston"), 400, json={"user": "Ana", "text": "\u200b\u200b"})
    assert plain_zw["error"] == CATALOG.t("error.empty_text", "en")
    await drain(api.agora.outbox)
    assert api.dump() == before


@pytest.mark.parametrize("mid", ["١", "１", "𝟏", "1" * 5000, "٠١"])
async def test_non_ascii_digits_are_not_message_ids(api: Api, mid: str) -> None:
    first = await api.call("POST", MESSAGES.format(cid="boston"), 201, json={"user": "Ana", "text": "keep me"})
    assert first["id"] == 1
    before = api.dump()
    await api.call("PATCH", MESSAGES.format(cid="boston") + f"/{mid}", 404, json={"text": "changed"})
    await api.call("DELETE", MESSAGES.format(cid="boston") + f"/{mid}", 404)
    assert api.dump() == before


@pytest.mark.parametrize(
    ("cid", "lang", "days"),
    [("boston", "en", "9" * 5000), ("guadalajara", "es", "٧"), ("recife", "pt", "99999")],
)
async def test_topics_with_an_absurd_number_of_days_answers_a_clear_error(
    api: Api, cid: str, lang: str, days: str
) -> None:
    before = api.dump()
    answer = await api.call(
        "POST", MESSAGES.format(cid=cid), 200, json={"user": "Ana", "text": f"/agora topics {days}"}
    )
    assert answer["reply"] == CATALOG.t("error.bad_int", lang, arg="days", value=days[:40])
    assert answer["reply"] != CATALOG.t("error.internal", lang)
    assert api.dump() == before
