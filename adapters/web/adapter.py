"""The local web playground: a page and a JSON API over the demo network's channels.

The playground is a platform like any other: people post through the API,
the adapter turns posts into core events, and the core's copies come back
through send/edit/delete. Its "platform storage" is the ``web_messages``
table, so a copy is posted exactly once even across a crash (the nonce is
unique, and a repeated send returns the existing post).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping
from importlib import resources
from typing import Any

from aiohttp import web

from adapters.web import files, markup, tables
from adapters.web.operations import OperationsRoutes
from adapters.web.policy import RequestPolicy
from adapters.web.settings import WebSettings
from bot.errors import ConfigError, DeliveryError
from bot.events import (
    Attachment,
    Author,
    ChannelRef,
    CommandInvoked,
    IncomingMessage,
    MessageDeleted,
    MessageEdited,
    MessageRef,
    OutgoingMessage,
    Reply,
)
from bot.model import Channel
from bot.ports import AdapterContext, Check, EventSink
from bot.richtext import RichText, clean_text, strip_invisible, to_json, to_plain
from bot.store.sql import insert, one, update

log = logging.getLogger(__name__)
MAX_INPUT = 40000
MAX_USER = 80
USER = '"user"'  # the column; a reserved word in PostgreSQL, so always quoted


class WebAdapter:
    """aiohttp server for the playground page and its API."""

    platform = "web"

    def __init__(self, config: Mapping[str, Any], context: AdapterContext) -> None:
        self.settings = WebSettings.from_mapping(config)
        self.host = self.settings.host
        self.port = self.settings.port
        self.pace = self.settings.pace
        self.max_text = self.settings.max_text
        self.max_upload = self.settings.max_file_mb * 1024 * 1024
        self.policy = RequestPolicy(
            self.host, self.settings.allowed_hosts, self.settings.token(context.environ), lambda: self.bound_port
        )
        self.bound_port = self.port
        self.context = context
        self.db = context.db
        self._sink: EventSink | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""
        tables.apply(self.db)

    def channels(self) -> dict[str, Channel]:
        """API id (the channel part of ``web:space/channel``) -> linked channel."""
        return {c.ref.channel: c for c in self.context.channels("web")}

    def _row(self, channel: str, mid: int) -> dict[str, Any] | None:
        if not 0 < mid < 2**63:  # SQLite integers are 64-bit; bigger ones would raise, not miss
            return None
        return one(self.db, "select * from web_messages where id = ? and channel = ?", [mid, channel])

    def messages(self, channel: str) -> list[dict[str, Any]]:
        rows = self.db.query("select * from web_messages where channel = ? and deleted = 0 order by id", [channel])
        return [_public(r) for r in rows]

    # ------------------------------------------------------------ Adapter protocol

    def render(self, text: RichText) -> str:
        return markup.render(text)

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        # Files arrive base64 in JSON: 4/3 of their size, plus the message.
        app = web.Application(client_max_size=1024 * 1024 + self.max_upload * 4 // 3)
        self.policy.install(app)
        app.add_routes(
            [
                web.get("/", self.page),
                web.get("/static/{name}", self.static),
                web.get("/api/health", self.health),
                web.get("/health", self.connection_health),
                web.get("/api/channels", self.list_channels),
                web.get("/api/channels/{cid}/messages", self.list_messages),
                web.post("/api/channels/{cid}/messages", self.post_message),
                web.patch("/api/channels/{cid}/messages/{mid}", self.edit_message),
                web.delete("/api/channels/{cid}/messages/{mid}", self.delete_message),
                web.get("/api/channels/{cid}/deliveries/{message_id}", self.deliveries),
                web.get("/files/{key}/{name}", self.file),
                *OperationsRoutes(self.context.operations).routes(),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ConfigError(f"adapters.web: cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        addresses = self._runner.addresses  # the port actually bound when port = 0
        self.bound_port = int(addresses[0][1]) if addresses else self.port
        self.url = f"http://{self.host}:{self.bound_port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def send(self, msg: OutgoingMessage) -> MessageRef:
        existing = await self.find_sent(msg)
        if existing is not None:
            return existing
        meta = msg.meta
        thread = int(msg.thread_id) if msg.thread_id else None
        new_id = str(
            insert(
                self.db,
                "web_messages",
                {
                    "channel": msg.channel.channel,
                    USER: msg.author.name if msg.author else "Agora",
                    "city": meta.city if meta else "",
                    "lang": meta.lang if meta else "",
                    "text": markup.render(msg.text),
                    "segments": json.dumps(to_json(msg.text)),
                    "footer": to_plain(msg.footer),
                    "original_text": markup.render(meta.original_text) if meta else None,
                    "original_lang": meta.original_lang if meta else None,
                    "topics": json.dumps(list(meta.topics) if meta else []),
                    "topic_labels": json.dumps(list(meta.topic_labels) if meta else []),
                    "thread_id": thread,
                    "nonce": msg.nonce,
                    "message_id": meta.message_id if meta else None,
                    "is_copy": 1,
                    "own": int(meta.own) if meta else 0,
                    "original_segments": json.dumps(to_json(meta.original_text)) if meta else None,
                    "translated": int(meta.translated) if meta else 1,
                    "deleted": 0,
                    "created_at": time.time(),
                    "files": files.files_column(msg.files),
                },
                returning="id",
            )
        )
        return MessageRef(msg.channel, new_id, msg.thread_id or new_id)

    async def find_sent(self, msg: OutgoingMessage) -> MessageRef | None:
        row = one(self.db, "select id, thread_id from web_messages where nonce = ?", [msg.nonce])
        if row is None:
            return None
        return MessageRef(msg.channel, str(row["id"]), str(row["thread_id"] or row["id"]))

    async def edit(self, ref: MessageRef, msg: OutgoingMessage) -> None:
        if self._row(ref.channel.channel, int(ref.id)) is None:
            raise DeliveryError(f"web message {ref.id} not found", retriable=False)
        meta = msg.meta
        update(
            self.db,
            "web_messages",
            {"id": int(ref.id)},
            {
                "text": markup.render(msg.text),
                "segments": json.dumps(to_json(msg.text)),
                "footer": to_plain(msg.footer),
                "original_text": markup.render(meta.original_text) if meta else None,
                "original_segments": json.dumps(to_json(meta.original_text)) if meta else None,
                "topics": json.dumps(list(meta.topics) if meta else []),
                "topic_labels": json.dumps(list(meta.topic_labels) if meta else []),
                "translated": int(meta.translated) if meta else 1,
                "edited_at": time.time(),
            },
        )

    async def delete(self, ref: MessageRef) -> None:
        self.db.execute(_FORGET, [int(ref.id)])

    async def fetch(self, attachment: Attachment, channel: ChannelRef) -> bytes:
        data = files.read_blob(self.context.files, attachment)
        if data is None:
            raise DeliveryError(f"{attachment.name}: not a file posted on the playground", retriable=False)
        return data

    def upload_limit(self, channel: ChannelRef) -> int:
        return self.max_upload if self.context.files is not None else 0

    async def file(self, request: web.Request) -> web.StreamResponse:
        return files.serve(self.db, self.context.files, request.match_info["key"])

    def checks(self) -> list[Check]:
        names = [c.ref.channel for c in self.context.channels("web")]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            return [
                Check(
                    "web channels",
                    False,
                    f"channel names used in two spaces: {', '.join(dupes)}",
                    "give every web channel a distinct name",
                )
            ]
        return [Check("web playground", True, f"http://{self.host}:{self.port}/ ({len(names)} channels)")]

    # ------------------------------------------------------------ HTTP handlers

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files("adapters.web").joinpath("static/index.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        types = {".js": "application/javascript", ".css": "text/css"}
        suffix = name[name.rfind(".") :] if "." in name else ""
        if suffix not in types or "/" in name or name.startswith("."):
            raise web.HTTPNotFound()
        resource = resources.files("adapters.web").joinpath("static").joinpath(name)
        if not resource.is_file():
            raise web.HTTPNotFound()
        return web.Response(text=resource.read_text(encoding="utf-8"), content_type=types[suffix])

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def connection_health(self, request: web.Request) -> web.Response:
        """Alive, and each platform connection's state: 503 while one is down past the grace period."""
        report = self.context.connections.health()
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def list_channels(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "id": cid,
                    "city": c.city,
                    "lang": c.lang,
                    "platform": "web",
                    "network": c.network,
                    "mode": c.mode,
                    "country": c.country,
                }
                for cid, c in self.channels().items()
            ]
        )

    def _channel(self, request: web.Request) -> tuple[str, Channel]:
        cid = request.match_info["cid"]
        channel = self.channels().get(cid)
        if channel is None:
            raise _error(404, f"no channel {cid[:40]!r}; GET /api/channels lists them")
        return cid, channel

    async def list_messages(self, request: web.Request) -> web.Response:
        cid, _ = self._channel(request)
        return web.json_response(self.messages(cid))

    async def post_message(self, request: web.Request) -> web.Response:
        cid, channel = self._channel(request)
        body = await _json_body(request)
        user = body.get("user")
        text = body.get("text")
        thread = body.get("thread_id")
        if isinstance(user, str):  # judge the name people will see: no control, bidi or zero-width characters
            user = strip_invisible(clean_text(user)).strip()
        if not isinstance(user, str) or not user or len(user) > MAX_USER:
            raise _error(400, self.context.catalog.t("error.bad_user", channel.lang, limit=MAX_USER))
        if not isinstance(text, str):
            raise _error(400, "'text' must be a string")
        if len(text) > MAX_INPUT:
            raise _error(400, self.context.catalog.t("error.too_long", channel.lang, length=len(text), limit=MAX_INPUT))
        if thread is not None:
            if isinstance(thread, str):
                thread = _message_id(thread)
            if not isinstance(thread, int) or isinstance(thread, bool) or self._row(cid, thread) is None:
                raise _error(400, self.context.catalog.t("error.bad_thread", channel.lang))
        text = clean_text(text)  # no lone surrogates or control characters stored
        author = Author(id=f"web:{user}", name=user)
        ref = ChannelRef("web", channel.ref.space, cid)
        if text.lstrip().startswith("/"):
            return await self._command(ref, author, text.strip(), thread)
        self._check_length(text, channel)
        try:
            attachments = files.accept_files(body.get("files"), self.context.files, self.max_upload)
        except files.FileRefused as exc:
            raise _error(400, str(exc)) from None
        if not strip_invisible(text).strip() and not attachments:
            raise _error(400, self.context.catalog.t("error.empty_text", channel.lang))
        mid = str(
            insert(
                self.db,
                "web_messages",
                {
                    "channel": cid,
                    USER: author.name,
                    "city": channel.city,
                    "lang": channel.lang,
                    "text": text,
                    "segments": json.dumps(to_json(markup.parse(text))),
                    "footer": "",
                    "topics": "[]",
                    "topic_labels": "[]",
                    "thread_id": thread,
                    "is_copy": 0,
                    "translated": 1,
                    "deleted": 0,
                    "created_at": time.time(),
                    "files": files.posted_column(attachments),
                },
                returning="id",
            )
        )
        await self._emit(
            IncomingMessage(
                ref,
                mid,
                author,
                markup.parse(text),
                thread_id=str(thread) if thread else None,
                attachments=attachments,
            )
        )
        return web.json_response({"id": int(mid)}, status=201)

    async def _command(self, ref: ChannelRef, author: Author, text: str, thread: int | None) -> web.Response:
        name, _, args = text[1:].partition(" ")
        replies: list[Reply] = []

        async def collect(reply: Reply) -> None:
            replies.append(reply)

        await self._emit(
            CommandInvoked(
                ref,
                author,
                name.lower(),
                args.strip(),
                collect,
                can_manage=True,
                thread_id=str(thread) if thread else None,
            )
        )
        body: dict[str, Any] = {
            "id": None,
            "reply": "\n".join(markup.render(r.text) for r in replies),
            "reply_segments": [to_json(r.text) for r in replies],
        }
        for r in replies:
            body.update({k: v for k, v in r.data.items() if k not in body})
        images = [r.image for r in replies if r.image]
        if images:
            body["image"] = "data:image/png;base64," + base64.b64encode(images[0]).decode()
        return web.json_response(body)

    async def deliveries(self, request: web.Request) -> web.Response:
        """Where each copy of a message is (``/agora status N`` as JSON), seen from this channel."""
        _, channel = self._channel(request)
        number = request.match_info["message_id"]
        if not (number.isascii() and number.isdecimal() and len(number) < 12):
            raise _error(404, f"no message {number[:20]!r}")
        response = await self._command(channel.ref, Author("web", "web"), f"/agora status {number}", None)
        body = json.loads(response.body) if isinstance(response.body, bytes) else {}
        if "deliveries" not in body:
            raise _error(404, body.get("reply") or f"no message {number!r}")
        return web.json_response(body)

    async def edit_message(self, request: web.Request) -> web.Response:
        cid, channel = self._channel(request)
        row = self._message_row(request, cid)
        body = await _json_body(request)
        text = body.get("text")
        if not isinstance(text, str) or not strip_invisible(clean_text(text)).strip():
            raise _error(400, self.context.catalog.t("error.empty_text", channel.lang))
        text = clean_text(text)
        self._check_length(text, channel)
        update(
            self.db,
            "web_messages",
            {"id": row["id"]},
            {"text": text, "segments": json.dumps(to_json(markup.parse(text))), "edited_at": time.time()},
        )
        await self._emit(MessageEdited(channel.ref, str(row["id"]), markup.parse(text)))
        return web.json_response({"id": row["id"]})

    async def delete_message(self, request: web.Request) -> web.Response:
        cid, channel = self._channel(request)
        row = self._message_row(request, cid)
        self.db.execute(_FORGET, [row["id"]])
        await self._emit(MessageDeleted(channel.ref, str(row["id"])))
        return web.json_response({"id": row["id"]})

    def _check_length(self, text: str, channel: Channel) -> None:
        """Refuse what the core would refuse to relay, instead of storing it silently."""
        limit = min(MAX_INPUT, self.context.max_message_length)
        if len(text) > limit:
            raise _error(400, self.context.catalog.t("error.too_long", channel.lang, length=len(text), limit=limit))

    def _message_row(self, request: web.Request, cid: str) -> dict[str, Any]:
        """The message to edit or delete: posted in this channel, or the asker's own copy of an /ask."""
        mid = request.match_info["mid"]
        number = _message_id(mid)
        row = self._row(cid, number) if number is not None else None
        if row is None or row["deleted"]:
            raise _error(404, f"no message {mid[:20]!r} in channel {cid!r}")
        if row["is_copy"] and not row["own"]:
            raise _error(403, "only the city that wrote this message can edit or delete it")
        return row

    async def _emit(self, event: Any) -> None:
        if self._sink is not None:
            await self._sink(event)


# A deleted message keeps its row (threads and ids still point at it) but not its content.
_FORGET = (
    "update web_messages set deleted = 1, text = '', segments = '[]', original_text = '', "
    "original_segments = null, footer = '' where id = ?"
)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A web_messages row as the API contract shows it."""
    return {
        "id": row["id"],
        "user": row["user"],
        "city": row["city"],
        "text": row["text"],
        "lang": row["lang"],
        "original_text": row["original_text"] if row["is_copy"] else row["text"],
        "original_lang": row["original_lang"] if row["is_copy"] else row["lang"],
        "topics": json.loads(row["topics"] or "[]"),
        "topic_labels": json.loads(row["topic_labels"] or "[]"),
        "thread_id": row["thread_id"],
        "segments": json.loads(row["segments"] or "[]"),
        "footer": row["footer"] or "",
        "original_segments": json.loads(row["original_segments"] or "null") if row["is_copy"] else None,
        "is_copy": bool(row["is_copy"]),
        "own": bool(row["own"]),
        "translated": bool(row["translated"]),
        "message_id": row["message_id"],
        "edited": row["edited_at"] is not None,
        "files": files.public_files(row["files"]),
    }


def _message_id(text: str) -> int | None:
    """A message id as the API takes it: ASCII digits only (not "١"), at most 18 of them."""
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # JSONDecodeError is a ValueError; deep nesting recurses
        raise _error(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _error(400, "the body must be a JSON object")
    return body


def _error(status: int, message: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound}[status]
    return cls(text=json.dumps({"error": message}), content_type="application/json")
