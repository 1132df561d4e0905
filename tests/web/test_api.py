"""The Web API contract (DESIGN.md, "Contracts that outside checks use"), against the real Agora.

The web adapter is loaded through its entry point, as ``agora run`` loads it,
and spoken to over HTTP with aiohttp's client; only the translator is the
deterministic test one, so translated copies are recognisable ("[es] ...").
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.web import markup
from bot.app import Agora
from bot.richtext import from_json, plain, to_plain
from testing.polling import drain
from testing.translator import MarkingTranslator
from tests.database import dump
from tests.web.conftest import CITIES, web_config

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

QUESTION = "How do cities run the PIT count for homeless people?"
CONTRACT_FIELDS = {"id", "user", "city", "text", "lang", "original_text", "original_lang", "topics", "thread_id"}
PAGE_FIELDS = {"segments", "footer", "is_copy", "translated", "message_id", "edited", "topic_labels"}


class Playground:
    """An HTTP client on a running Agora, with the checks every test repeats."""

    def __init__(self, agora: Agora, session: aiohttp.ClientSession) -> None:
        self.agora = agora
        self.session = session

    async def request(self, method: str, path: str, *, status: int, **kwargs: Any) -> Any:
        async with self.session.request(method, path, **kwargs) as resp:
            body = await resp.text()
            assert resp.status == status, f"{method} {path}: {resp.status} {body}"
            assert resp.content_type == "application/json", f"{method} {path}: {resp.content_type}"
            return json.loads(body)

    async def messages(self, cid: str) -> list[dict[str, Any]]:
        found = await self.request("GET", f"/api/channels/{cid}/messages", status=200)
        assert isinstance(found, list)
        return found

    async def post(self, cid: str, text: str, *, user: str = "Ana", thread_id: int | None = None) -> int:
        body: dict[str, Any] = {"user": user, "text": text}
        if thread_id is not None:
            body["thread_id"] = thread_id
        answer = await self.request("POST", f"/api/channels/{cid}/messages", status=201, json=body)
        assert set(answer) == {"id"} and isinstance(answer["id"], int)
        return int(answer["id"])

    async def command(self, cid: str, text: str, *, user: str = "Ana") -> str:
        answer = await self.request(
            "POST", f"/api/channels/{cid}/messages", status=200, json={"user": user, "text": text}
        )
        assert isinstance(answer["reply"], str) and answer["reply"]
        return str(answer["reply"])

    async def ask(self, cid: str = "boston", question: str = QUESTION, user: str = "Ana") -> None:
        await self.command(cid, f"/ask {question}", user=user)
        await self.drain()

    async def drain(self) -> None:
        await drain(self.agora.outbox)

    async def roots(self, cid: str) -> list[dict[str, Any]]:
        return [m for m in await self.messages(cid) if m["thread_id"] is None]

    async def thread(self, cid: str, root: int) -> list[dict[str, Any]]:
        return [m for m in await self.messages(cid) if m["thread_id"] == root]

    async def everything(self) -> dict[str, list[dict[str, Any]]]:
        return {cid: await self.messages(cid) for cid, *_ in CITIES}

    def dump(self) -> str:
        return dump(self.agora.db)


@pytest.fixture
async def web(tmp_path: Path, database_url: str) -> AsyncIterator[Playground]:
    agora = Agora(web_config(tmp_path / "agora.db", database_url), translator=MarkingTranslator())
    assert list(agora.adapters) == ["web"]  # loaded from the entry point, as `agora run` does
    await agora.start()
    try:
        url: str = getattr(agora.adapters["web"], "url")  # noqa: B009 - not on the Adapter protocol
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession(base_url=url) as session:
            yield Playground(agora, session)
    finally:
        await agora.stop(grace=1)


def shown(message: dict[str, Any]) -> str:
    """What a reader sees: the plain text of the message's segments."""
    return to_plain(from_json(message["segments"]))


def check_shape(message: dict[str, Any]) -> None:
    assert set(message) >= CONTRACT_FIELDS | PAGE_FIELDS
    assert isinstance(message["id"], int)
    assert all(isinstance(message[k], str) for k in ("user", "city", "text", "lang", "original_text", "original_lang"))
    assert isinstance(message["topics"], list) and isinstance(message["topic_labels"], list)
    assert len(message["topics"]) == len(message["topic_labels"])
    assert message["thread_id"] is None or isinstance(message["thread_id"], int)
    # `text` is the playground markup of the same rich text the page renders from `segments`.
    assert markup.parse(message["text"]) == from_json(message["segments"])


# ------------------------------------------------------------------ reading


async def test_channels_are_the_demo_cities(web: Playground) -> None:
    channels = await web.request("GET", "/api/channels", status=200)
    assert [(c["id"], c["city"], c["lang"], c["platform"]) for c in channels] == [
        (cid, city, lang, "web") for cid, city, lang, _ in CITIES
    ]
    for cid, *_ in CITIES:
        assert await web.messages(cid) == []


async def test_page_and_its_assets_are_served_locally(web: Playground) -> None:
    async with web.session.get("/") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        page = await resp.text()
    assert 'src="/static/app.js"' in page and 'href="/static/style.css"' in page
    assert "http://" not in page and "https://" not in page  # no CDN, no web fonts
    for name, kind in (("app.js", "application/javascript"), ("style.css", "text/css")):
        async with web.session.get(f"/static/{name}") as resp:
            assert resp.status == 200 and resp.content_type == kind
            text = await resp.text()
        assert "@import" not in text and "url(http" not in text
    for missing in ("/static/nothing.js", "/static/..%2Fadapter.py", "/static/.hidden.js", "/static/app.py"):
        async with web.session.get(missing) as resp:
            assert resp.status == 404, missing


# ------------------------------------------------------------------ posting and relaying


async def test_a_plain_post_gets_an_id_and_stays_in_its_channel(web: Playground) -> None:
    mid = await web.post("boston", "Good morning from **Boston**")
    await web.drain()
    [message] = await web.messages("boston")
    check_shape(message)
    assert message["id"] == mid
    assert (message["user"], message["city"], message["lang"]) == ("Ana", "Boston", "en")
    assert message["text"] == message["original_text"] == "Good morning from **Boston**"
    assert message["original_lang"] == "en" and message["thread_id"] is None and not message["is_copy"]
    assert shown(message) == "Good morning from Boston"
    # Channels relay questions only (mode "questions"): a top-level post stays home.
    assert await web.messages("guadalajara") == [] and await web.messages("recife") == []


async def test_ask_replies_and_reaches_the_other_cities_translated_in_order(web: Playground) -> None:
    reply = await web.command("boston", f"/ask {QUESTION}")
    await web.drain()
    boston = await web.roots("boston")
    [root] = boston
    expected = markup.render(plain(web.agora.catalog.t("reply.asked", "en", id=root["message_id"], count=2)))
    assert reply == expected
    await web.ask("guadalajara", "¿Qué hace la ciudad con los datos de presupuesto?", user="Luis")

    for cid, lang, label_lang in (("guadalajara", "es", "es"), ("recife", "pt", "pt")):
        messages = await web.messages(cid)
        for message in messages:
            check_shape(message)
        assert [m["thread_id"] for m in messages] == [None, None]
        assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
        first = messages[0]
        assert shown(first) == f"[{lang}] {QUESTION}"
        assert (first["original_text"], first["original_lang"], first["lang"]) == (QUESTION, "en", lang)
        assert first["user"].startswith("Ana") and first["city"] == "Boston"
        assert first["topics"] == ["homelessness"]
        assert first["topic_labels"] == [web.agora.tagger.name("homelessness", label_lang)]
        assert first["is_copy"] and first["translated"] and not first["edited"]
        assert first["message_id"] == root["message_id"]
    recife_second = (await web.messages("recife"))[1]
    assert recife_second["city"] == "Guadalajara" and recife_second["original_lang"] == "es"
    assert shown(recife_second).startswith("[pt] ")
    # The asker's channel holds its own question, untranslated, as the thread root, then Luis's.
    boston = await web.messages("boston")
    assert [shown(m) for m in boston] == [QUESTION, "[en] ¿Qué hace la ciudad con los datos de presupuesto?"]
    assert boston[0]["translated"] and boston[0]["original_text"] == QUESTION


async def test_a_thread_reply_flows_to_every_other_copy_of_the_thread(web: Playground) -> None:
    await web.ask()
    [recife_root] = await web.roots("recife")
    reply_id = await web.post("recife", "Usamos voluntários da prefeitura", user="Rita", thread_id=recife_root["id"])
    await web.drain()
    [own] = await web.thread("recife", recife_root["id"])
    assert own["id"] == reply_id and not own["is_copy"] and own["user"] == "Rita"
    for cid, lang in (("boston", "en"), ("guadalajara", "es")):
        [root] = await web.roots(cid)
        [copy] = await web.thread(cid, root["id"])
        check_shape(copy)
        assert shown(copy) == f"[{lang}] Usamos voluntários da prefeitura"
        assert (copy["original_text"], copy["original_lang"]) == ("Usamos voluntários da prefeitura", "pt")
        assert copy["city"] == "Recife" and copy["user"].startswith("Rita") and copy["is_copy"]
    # ...and an answer from Guadalajara's thread reaches Boston's and Recife's.
    [gdl_root] = await web.roots("guadalajara")
    await web.post("guadalajara", "Nosotros también", user="Luis", thread_id=gdl_root["id"])
    await web.drain()
    [boston_root] = await web.roots("boston")
    assert [shown(m) for m in await web.thread("boston", boston_root["id"])] == [
        "[en] Usamos voluntários da prefeitura",
        "[en] Nosotros también",
    ]
    assert [shown(m) for m in await web.thread("recife", recife_root["id"])] == [
        "Usamos voluntários da prefeitura",
        "[pt] Nosotros también",
    ]


# ------------------------------------------------------------------ edits and deletes


async def test_edits_propagate_to_every_copy(web: Playground) -> None:
    await web.ask()
    [boston_root] = await web.roots("boston")
    [recife_root] = await web.roots("recife")
    reply_id = await web.post("recife", "Contamos em janeiro", user="Rita", thread_id=recife_root["id"])
    await web.drain()

    edited = "How do cities run the PIT count for unsheltered people?"
    answer = await web.request(
        "PATCH", f"/api/channels/boston/messages/{boston_root['id']}", status=200, json={"text": edited}
    )
    assert answer == {"id": boston_root["id"]}
    answer = await web.request(
        "PATCH", f"/api/channels/recife/messages/{reply_id}", status=200, json={"text": "Contamos em fevereiro"}
    )
    await web.drain()

    for cid, lang in (("guadalajara", "es"), ("recife", "pt")):
        [root] = await web.roots(cid)
        assert shown(root) == f"[{lang}] {edited}" and root["original_text"] == edited and root["edited"]
    [boston_root] = await web.roots("boston")
    assert shown(boston_root) == edited and boston_root["edited"]
    [copy] = await web.thread("boston", boston_root["id"])
    assert shown(copy) == "[en] Contamos em fevereiro" and copy["edited"]
    [own] = await web.thread("recife", recife_root["id"])
    assert own["text"] == "Contamos em fevereiro" and own["edited"]


async def test_deletes_propagate_to_every_copy(web: Playground) -> None:
    await web.ask()
    [recife_root] = await web.roots("recife")
    reply_id = await web.post("recife", "Contamos em janeiro", user="Rita", thread_id=recife_root["id"])
    await web.drain()

    answer = await web.request("DELETE", f"/api/channels/recife/messages/{reply_id}", status=200)
    assert answer == {"id": reply_id}
    await web.drain()
    for cid, *_ in CITIES:
        assert [m["thread_id"] for m in await web.messages(cid)] == [None], cid

    [boston_root] = await web.roots("boston")
    await web.request("DELETE", f"/api/channels/boston/messages/{boston_root['id']}", status=200)
    await web.drain()
    assert await web.everything() == {cid: [] for cid, *_ in CITIES}


# ------------------------------------------------------------------ bad input changes nothing

LONG = "x" * 40001
BAD_REQUESTS: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("not JSON", "POST", "boston", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
    ("not UTF-8", "POST", "boston", {"data": b"\xff\xfe{}", "headers": {"Content-Type": "application/json"}}, 400),
    ("a JSON list", "POST", "boston", {"json": [{"user": "Ana", "text": "hi"}]}, 400),
    ("no user", "POST", "boston", {"json": {"text": "hi"}}, 400),
    ("blank user", "POST", "boston", {"json": {"user": "  ", "text": "hi"}}, 400),
    ("user not a string", "POST", "boston", {"json": {"user": 7, "text": "hi"}}, 400),
    ("user too long", "POST", "boston", {"json": {"user": "A" * 81, "text": "hi"}}, 400),
    ("no text", "POST", "boston", {"json": {"user": "Ana"}}, 400),
    ("text not a string", "POST", "boston", {"json": {"user": "Ana", "text": ["hi"]}}, 400),
    ("text a number", "POST", "boston", {"json": {"user": "Ana", "text": 42}}, 400),
    ("empty text", "POST", "boston", {"json": {"user": "Ana", "text": ""}}, 400),
    ("blank text", "POST", "boston", {"json": {"user": "Ana", "text": " \n\t "}}, 400),
    ("over-long text", "POST", "boston", {"json": {"user": "Ana", "text": LONG}}, 400),
    ("unknown channel", "POST", "atlantis", {"json": {"user": "Ana", "text": "hi"}}, 404),
    ("thread not a number", "POST", "boston", {"json": {"user": "Ana", "text": "hi", "thread_id": "abc"}}, 400),
    ("thread a boolean", "POST", "boston", {"json": {"user": "Ana", "text": "hi", "thread_id": True}}, 400),
    ("thread a float", "POST", "boston", {"json": {"user": "Ana", "text": "hi", "thread_id": 1.5}}, 400),
    ("thread negative", "POST", "boston", {"json": {"user": "Ana", "text": "hi", "thread_id": -1}}, 400),
    ("thread unknown", "POST", "boston", {"json": {"user": "Ana", "text": "hi", "thread_id": 999}}, 400),
    ("thread too big", "POST", "boston", {"json": {"user": "Ana", "text": "hi", "thread_id": 10**20}}, 400),
    ("thread superscript", "POST", "boston", {"json": {"user": "Ana", "text": "hi", "thread_id": "²"}}, 400),
    ("thread elsewhere", "POST", "recife", {"json": {"user": "Ana", "text": "hi", "thread_id": "{boston_root}"}}, 400),
    ("list unknown channel", "GET", "atlantis", {}, 404),
    ("edit unknown channel", "PATCH", "atlantis/{boston_root}", {"json": {"text": "hi"}}, 404),
    ("edit unknown message", "PATCH", "boston/999", {"json": {"text": "hi"}}, 404),
    ("edit not an id", "PATCH", "boston/abc", {"json": {"text": "hi"}}, 404),
    ("edit superscript id", "PATCH", "boston/²", {"json": {"text": "hi"}}, 404),
    ("edit elsewhere", "PATCH", "recife/{boston_root}", {"json": {"text": "hi"}}, 404),
    ("edit to empty", "PATCH", "boston/{boston_root}", {"json": {"text": "  "}}, 400),
    ("edit not a string", "PATCH", "boston/{boston_root}", {"json": {"text": 5}}, 400),
    ("edit not JSON", "PATCH", "boston/{boston_root}", {"data": b"[", "headers": {"Content-Type": "x"}}, 415),
    ("edit over-long", "PATCH", "boston/{boston_root}", {"json": {"text": LONG}}, 400),
    ("delete unknown message", "DELETE", "boston/999", {}, 404),
    ("delete elsewhere", "DELETE", "guadalajara/{boston_root}", {}, 404),
    ("delete unknown channel", "DELETE", "atlantis/{boston_root}", {}, 404),
]


@pytest.mark.parametrize(
    ("method", "target", "kwargs", "status"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
async def test_bad_requests_get_a_clear_error_and_change_nothing(
    web: Playground, method: str, target: str, kwargs: dict[str, Any], status: int
) -> None:
    await web.ask()
    [boston_root] = await web.roots("boston")
    ids = {"boston_root": boston_root["id"]}
    if isinstance(kwargs.get("json"), dict) and kwargs["json"].get("thread_id") == "{boston_root}":
        kwargs = {"json": {**kwargs["json"], "thread_id": boston_root["id"]}}
    before, dump = await web.everything(), web.dump()

    answer = await web.request(method, _path(target.format(**ids)), status=status, **kwargs)
    assert isinstance(answer["error"], str) and len(answer["error"]) > 10
    await web.drain()
    assert await web.everything() == before
    assert web.dump() == dump


def _path(target: str) -> str:
    channel, _, mid = target.partition("/")
    return f"/api/channels/{channel}/messages" + (f"/{mid}" if mid else "")


BAD_COMMANDS = [
    ("/agora frobnicate", "error.unknown_command", {"command": "/agora frobnicate"}),
    ("/ask", "error.missing_arg", {"arg": "question", "usage": "/ask <question>"}),
    ("/ask    ", "error.missing_arg", {"arg": "question", "usage": "/ask <question>"}),
    ("/ask " + "y" * 12001, "error.too_long", {"length": 12001, "limit": 12000}),
    ("/agora lang xx", None, {}),
    ("/agora subscribe nonsense-topic", None, {}),
    ("/nonsense", None, {}),
]


@pytest.mark.parametrize(("text", "key", "params"), BAD_COMMANDS, ids=[c[0][:20] for c in BAD_COMMANDS])
async def test_refused_commands_answer_with_an_error_and_change_nothing(
    web: Playground, text: str, key: str | None, params: dict[str, Any]
) -> None:
    await web.ask()
    before, dump = await web.everything(), web.dump()
    reply = await web.command("boston", text)
    if key is not None:
        assert reply == markup.render(plain(web.agora.catalog.t(key, "en", **params)))
    await web.drain()
    assert await web.everything() == before
    assert web.dump() == dump


async def test_command_replies_speak_the_channels_language_and_carry_the_chart(web: Playground) -> None:
    await web.ask()
    help_es = await web.command("guadalajara", "/agora help", user="Luis")
    assert help_es != await web.command("boston", "/agora help")
    assert "/ask" in help_es
    async with web.session.post("/api/channels/recife/messages", json={"user": "Rita", "text": "/agora topics"}) as r:
        assert r.status == 200
        answer = await r.json()
    assert isinstance(answer["reply"], str) and web.agora.tagger.name("homelessness", "pt") in answer["reply"]
    assert answer["image"].startswith("data:image/png;base64,iVBORw0KGgo")  # a PNG


async def test_only_the_writing_city_may_edit_or_delete(web: Playground) -> None:
    await web.ask()
    [gdl_copy] = await web.roots("guadalajara")
    before = web.dump()
    await web.request(
        "PATCH", f"/api/channels/guadalajara/messages/{gdl_copy['id']}", status=403, json={"text": "hijacked"}
    )
    await web.request("DELETE", f"/api/channels/guadalajara/messages/{gdl_copy['id']}", status=403)
    assert web.dump() == before
    # The asker may edit their own question, which reaches every copy.
    [boston_root] = await web.roots("boston")
    assert boston_root["own"] is True and gdl_copy["own"] is False
    await web.request(
        "PATCH",
        f"/api/channels/boston/messages/{boston_root['id']}",
        status=200,
        json={"text": "How do you staff the PIT count?"},
    )
    await web.drain()
    [gdl_after] = await web.roots("guadalajara")
    assert shown(gdl_after) == "[es] How do you staff the PIT count?"
    assert gdl_after["original_segments"] == [{"t": "text", "text": "How do you staff the PIT count?"}]


async def test_posts_the_core_would_refuse_are_refused_up_front(web: Playground) -> None:
    mid = await web.post("boston", "short")
    before = web.dump()
    too_long = "y" * 12001
    answer = await web.request(
        "POST", "/api/channels/boston/messages", status=400, json={"user": "Ana", "text": too_long}
    )
    assert "too long (12001 characters; the limit is 12000)" in answer["error"]
    answer = await web.request("PATCH", f"/api/channels/boston/messages/{mid}", status=400, json={"text": too_long})
    assert "too long" in answer["error"]
    assert web.dump() == before


async def test_command_replies_carry_their_segments(web: Playground) -> None:
    answer = await web.request(
        "POST", "/api/channels/recife/messages", status=200, json={"user": "Rita", "text": "/agora status"}
    )
    (segments,) = answer["reply_segments"]
    assert to_plain(from_json(segments)).startswith("Agora neste canal")


async def test_lone_surrogates_and_control_characters_are_cleaned_not_fatal(web: Playground) -> None:
    body = b'{"user": "Ana\\ud800", "text": "hola \\ud800 mundo \\u0000\\u0007"}'
    answer = await web.request(
        "POST", "/api/channels/boston/messages", status=201, data=body, headers={"Content-Type": "application/json"}
    )
    [message] = await web.messages("boston")
    assert message["id"] == answer["id"]
    assert message["user"] == "Ana\ufffd" and message["text"] == "hola \ufffd mundo "
