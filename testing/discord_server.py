"""A small fake Discord: REST API v10 and gateway on 127.0.0.1, for the real discord.py.

It models what Agora uses (login, guilds with text channels and threads,
messages, webhooks, threads from messages, application commands and
interactions, channel history, active threads) and records every post, edit and
delete it accepted, per channel and in order, so tests assert on what Discord
would have shown. Tests drive it from the server side: a user posts, edits or
deletes a message, runs a slash command or a context-menu command.

Fault injection, for adapter tests and the load/fault suite:
``fail(route, status=429, retry_after=...)`` for the next N matching calls,
``fail(route, hang=True)`` and ``fail(route, drop=True)``, ``throttle(channel)``
for every call touching one channel, ``drop_gateway()`` to cut the websocket
(sessions stay resumable and events sent meanwhile are replayed on RESUME),
``invalidate_sessions()`` to force a fresh IDENTIFY, ``send_raw(frame)`` to send
any text (an unreadable frame) on every live socket, ``refuse_gateway`` to
answer 503 to new gateway connections (an outage), and
``empty_interaction_callbacks`` to answer an interaction callback with an
empty body, as Spacebar does.

Run standalone so a test can kill the bot while the fake keeps its records::

    python -m testing.discord_server --port 0 --state records.json

It prints one JSON line (api_base, gateway_url, token, ids) and serves a control
API under ``/_fake/`` (``POST /_fake/message``, ``/_fake/fault``,
``/_fake/drop_gateway``, ``/_fake/refuse_gateway``, ``/_fake/send_raw``;
``GET /_fake/records``). Payload shapes come from the
templates in ``testing/payloads/discord``; :func:`payload` is the one builder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import datetime
import hashlib
import json
import mimetypes
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

PAYLOADS = Path(__file__).resolve().parent / "payloads" / "discord"
DISCORD_EPOCH_MS = 1420070400000
API = "/api/v10"
MESSAGE_CONTENT_INTENT = 1 << 15
MANAGER_PERMISSIONS = 0x7FFFFFFFFFFF
MEMBER_PERMISSIONS = 0x400 | 0x800 | 0x10000  # view, send, read history
_TEMPLATES: dict[str, dict[str, Any]] = {}


def payload(kind: str, **fields: Any) -> dict[str, Any]:
    """A copy of the ``kind`` template with ``fields`` filled in (ids as strings, like Discord)."""
    if kind not in _TEMPLATES:
        _TEMPLATES[kind] = json.loads((PAYLOADS / f"{kind}.json").read_text(encoding="utf-8"))
    data = copy.deepcopy(_TEMPLATES[kind])
    for key, value in fields.items():
        data[key] = str(value) if key.endswith("id") and isinstance(value, int) else value
    return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat()


def snowflake_at(at: float, increment: int = 0) -> int:
    """A Discord id for a moment: ids sort by time, which catch-up relies on."""
    return ((int(at * 1000) - DISCORD_EPOCH_MS) << 22) + (increment & 0x3FFFFF)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py treats "application/json; charset=utf-8" as text.
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )


def _error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    return _json({"code": code, "message": message, **extra}, status)


@dataclass
class Fault:
    """What the next ``count`` matching calls get instead of an answer (count -1: until cleared)."""

    method: str
    path: re.Pattern[str] | None
    channel: int | None
    status: int = 429
    retry_after: float = 1.0
    code: int = 0
    hang: bool = False
    drop: bool = False
    count: int = 1


@dataclass
class Session:
    """A gateway session: it outlives its websocket, so a RESUME can replay what was missed."""

    id: str
    intents: int
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


@dataclass
class Interaction:
    """One slash or context-menu command sent to the bot, and what the bot answered."""

    id: int
    token: str
    channel_id: int
    data: dict[str, Any]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)


class FakeDiscord:
    """Discord's REST API and gateway, in memory, on 127.0.0.1."""

    def __init__(self, token: str = "fake-bot-token", state_file: Path | None = None) -> None:
        self.token = token
        self.state_file = state_file
        self._increment = 0
        self._last_id = 0
        self.app_id = self.next_id()
        self.owner = payload("user", id=self.next_id(), username="owner", global_name="Owner")
        self.bot_user = payload("user", id=self.app_id, username="Agora", global_name=None, bot=True, avatar=None)
        self.guilds: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.latency = 0.0  # seconds every REST call takes before it is handled (a real server's round trip)
        self.interactions: dict[int, Interaction] = {}
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, str, int]] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes = 0
        # GATEWAY_MESSAGE_CONTENT_LIMITED: an unverified app whose Message Content intent is switched on
        self.application_flags = 1 << 18
        self.faults: list[Fault] = []
        self.sessions: dict[str, Session] = {}
        self.cdn: dict[str, dict[str, Any]] = {}  # attachment id -> bytes, type and expiry, served under /attachments/
        self.cdn_fetches: list[dict[str, Any]] = []
        self.refuse_gateway = False
        self.empty_interaction_callbacks = False
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            ("GET", re.compile(r"/users/@me"), self._me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._application),
            ("GET", re.compile(r"/gateway(?:/bot)?"), self._gateway_info),
            ("GET", re.compile(r"/channels/(\d+)"), self._get_channel),
            ("PATCH", re.compile(r"/channels/(\d+)"), self._edit_channel),
            ("GET", re.compile(r"/channels/(\d+)/messages"), self._history),
            ("POST", re.compile(r"/channels/(\d+)/messages"), self._bot_post),
            ("GET", re.compile(r"/channels/(\d+)/messages/(\d+)"), self._get_message),
            ("GET", re.compile(r"/channels/(\d+)/webhooks"), self._list_webhooks),
            ("POST", re.compile(r"/channels/(\d+)/webhooks"), self._create_webhook),
            ("POST", re.compile(r"/channels/(\d+)/messages/(\d+)/threads"), self._start_thread),
            ("GET", re.compile(r"/guilds/(\d+)/threads/active"), self._active_threads),
            ("PUT", re.compile(r"/applications/(\d+)/commands"), self._sync_global),
            ("PUT", re.compile(r"/applications/(\d+)/guilds/(\d+)/commands"), self._sync_guild),
            ("POST", re.compile(r"/webhooks/(\d+)/([^/]+)"), self._execute),
            ("GET", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(\d+)"), self._webhook_get),
            ("PATCH", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(\d+)"), self._webhook_edit),
            ("DELETE", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(\d+)"), self._webhook_delete),
            ("POST", re.compile(r"/interactions/(\d+)/([^/]+)/callback"), self._callback),
        ]

    # ------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> FakeDiscord:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._gateway)
        app.router.add_route("GET", "/attachments/{channel}/{aid}/{name}", self._cdn)
        app.router.add_route("*", "/_fake/{what}", self._control)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        self._closing.set()
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self, at: float | None = None) -> int:
        """A fresh snowflake: now (strictly increasing), or at a past moment."""
        self._increment += 1
        if at is not None:
            return snowflake_at(at, self._increment)
        self._last_id = max(snowflake_at(time.time(), self._increment), self._last_id + 1)
        return self._last_id

    def _changed_now(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        if self.state_file is not None:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"records": self.records, "calls": self.calls}), encoding="utf-8")
            os.replace(tmp, self.state_file)

    async def wait_for(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``check()`` is truthy (re-checked after every change); return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = check()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("fake Discord: condition not met in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    # ------------------------------------------------------------ world building

    def add_guild(self, name: str = "City Hall") -> int:
        gid = self.next_id()
        everyone = payload("role", id=gid, name="@everyone", permissions=str(MEMBER_PERMISSIONS))
        member = payload("member", user=self.bot_user, roles=[])
        self.guilds[gid] = payload(
            "guild", id=gid, name=name, owner_id=self.owner["id"], roles=[everyone], members=[member]
        )
        return gid

    def add_role(self, guild_id: int, name: str) -> int:
        rid = self.next_id()
        self.guilds[guild_id]["roles"].append(payload("role", id=rid, name=name, position=1))
        return rid

    def add_channel(self, guild_id: int, name: str) -> int:
        cid = self.next_id()
        self.channels[cid] = payload("text_channel", id=cid, guild_id=guild_id, name=name)
        return cid

    def add_user(self, name: str, *, bot: bool = False) -> int:
        uid = self.next_id()
        self.users[uid] = payload("user", id=uid, username=name.lower(), global_name=name, bot=bot, avatar="a" * 32)
        return uid

    def threads_of(self, channel_id: int) -> list[dict[str, Any]]:
        return [c for c in self.channels.values() if c["type"] == 11 and c["parent_id"] == str(channel_id)]

    def _parent(self, channel_id: int) -> int:
        channel = self.channels.get(channel_id)
        if channel is not None and channel["type"] == 11:
            return int(channel["parent_id"])
        return channel_id

    def _guild_create(self, gid: int) -> dict[str, Any]:
        data = copy.deepcopy(self.guilds[gid])
        data["channels"] = [c for c in self.channels.values() if c["guild_id"] == str(gid) and c["type"] == 0]
        data["threads"] = [
            c
            for c in self.channels.values()
            if c["guild_id"] == str(gid) and c["type"] == 11 and not c["thread_metadata"]["archived"]
        ]
        data["member_count"] = len(data["members"])
        return data

    # ------------------------------------------------------------ what users do

    async def user_message(
        self,
        channel_id: int,
        user_id: int,
        content: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        attachments: tuple[tuple[str, str], ...] = (),
        at: float | None = None,
        dispatch: bool = True,
        files: tuple[tuple[str, bytes], ...] = (),
    ) -> dict[str, Any]:
        """A member posts (in a thread when ``thread_id``); ``at`` back-dates it (for catch-up)."""
        where = thread_id or channel_id
        channel = self.channels[where]
        user = self.users[user_id]
        mid = self.next_id(at)
        msg = payload(
            "message",
            id=mid,
            channel_id=where,
            guild_id=channel["guild_id"],
            author=user,
            content=content,
            timestamp=_iso(at or time.time()),
            mentions=[self.users[int(u)] for u in re.findall(r"<@!?(\d+)>", content) if int(u) in self.users],
            mention_roles=re.findall(r"<@&(\d+)>", content),
            mention_everyone="@everyone" in content or "@here" in content,
            attachments=[payload("attachment", id=self.next_id(), filename=name, url=url) for name, url in attachments]
            + [self.host_attachment(where, name, data) for name, data in files],
        )
        if reply_to is not None:
            msg["type"] = 19
            msg["message_reference"] = {
                "type": 0,
                "message_id": str(reply_to),
                "channel_id": str(where),
                "guild_id": channel["guild_id"],
            }
            msg["referenced_message"] = self.messages.get(reply_to)
        self.messages[mid] = msg
        channel["last_message_id"] = str(mid)
        if dispatch:
            event = dict(msg, member=payload("member", roles=[]))
            await self.dispatch("MESSAGE_CREATE", event)
        self._changed_now()
        return msg

    def host_attachment(
        self, channel_id: int, name: str, data: bytes, *, content_type: str | None = None, expires_in: float = 86400
    ) -> dict[str, Any]:
        """An attachment on the fake CDN: a signed URL that stops working ``expires_in`` seconds from now."""
        aid = self.next_id()
        expires = int(time.time() + expires_in)
        kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.cdn[str(aid)] = {"data": data, "content_type": kind, "expires": expires, "name": name}
        url = f"http://127.0.0.1:{self.port}/attachments/{channel_id}/{aid}/{name}?ex={expires:x}&is=0&hm={aid:x}"
        return payload("attachment", id=aid, filename=name, size=len(data), url=url, proxy_url=url, content_type=kind)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        """Discord's CDN: the bytes while the signed URL is valid, "no longer available" after."""
        self.cdn_fetches.append({"path": request.path, "authorization": request.headers.get("Authorization")})
        self._changed_now()
        entry = self.cdn.get(request.match_info["aid"])
        if entry is None or entry["name"] != request.match_info["name"]:
            return web.Response(status=404, text="Not Found")
        if time.time() > entry["expires"] or request.query.get("ex") != f"{entry['expires']:x}":
            return web.Response(status=404, text="This content is no longer available.")
        return web.Response(body=entry["data"], content_type=entry["content_type"])

    async def user_edit(self, message_id: int, content: str) -> dict[str, Any]:
        msg = self.messages[message_id]
        msg["content"] = content
        msg["edited_timestamp"] = _iso(time.time())
        await self.dispatch("MESSAGE_UPDATE", dict(msg, member=payload("member", roles=[])))
        self._changed_now()
        return msg

    async def unfurl(self, message_id: int) -> None:
        """Discord adding a link preview: an update that is not an edit (no edited_timestamp)."""
        msg = self.messages[message_id]
        msg["embeds"] = [{"type": "link", "url": "https://example.org", "title": "Example"}]
        await self.dispatch("MESSAGE_UPDATE", msg)

    async def user_delete(self, message_id: int) -> None:
        msg = self.messages.pop(message_id)
        await self.dispatch(
            "MESSAGE_DELETE", {"id": msg["id"], "channel_id": msg["channel_id"], "guild_id": msg["guild_id"]}
        )
        self._changed_now()

    def _command(self, guild_id: int, name: str) -> dict[str, Any]:
        for scope in (f"guild:{guild_id}", "global"):
            for cmd in self.commands.get(scope, []):
                if cmd["name"] == name:
                    return cmd
        raise KeyError(f"command {name!r} was never synced")

    async def slash(
        self,
        channel_id: int,
        user_id: int,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        sub: str | None = None,
        locale: str = "en-US",
        manager: bool = True,
    ) -> Interaction:
        """A member runs ``/command`` (``/command sub`` for a group) with option values."""
        cmd = self._command(int(self.channels[channel_id]["guild_id"]), command)
        opts = [{"name": k, "type": 4 if isinstance(v, int) else 3, "value": v} for k, v in (options or {}).items()]
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": command,
            "type": 1,
            "options": [{"name": sub, "type": 1, "options": opts}] if sub else opts,
        }
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return await self._interact(channel_id, user_id, data, locale, manager)

    async def context_menu(
        self, channel_id: int, user_id: int, name: str, message_id: int, *, locale: str = "en-US"
    ) -> Interaction:
        """A member picks a message command (right click > Apps > name) on a message."""
        cmd = self._command(int(self.channels[channel_id]["guild_id"]), name)
        data = {
            "id": cmd["id"],
            "name": name,
            "type": 3,
            "target_id": str(message_id),
            "resolved": {"messages": {str(message_id): self.messages[message_id]}},
        }
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return await self._interact(channel_id, user_id, data, locale, manager=False)

    async def _interact(
        self, channel_id: int, user_id: int, data: dict[str, Any], locale: str, manager: bool
    ) -> Interaction:
        channel = self.channels[channel_id]
        iid = self.next_id()
        token = secrets.token_urlsafe(24)
        perms = MANAGER_PERMISSIONS if manager else MEMBER_PERMISSIONS
        member = payload("member", user=self.users[user_id], roles=[], permissions=str(perms))
        body = payload(
            "interaction",
            id=iid,
            application_id=self.app_id,
            data=data,
            guild_id=channel["guild_id"],
            channel_id=channel_id,
            channel=channel,
            member=member,
            token=token,
            locale=locale,
        )
        body["guild"]["id"] = channel["guild_id"]
        interaction = Interaction(iid, token, channel_id, data)
        self.interactions[iid] = interaction
        await self.dispatch("INTERACTION_CREATE", body)
        return interaction

    # ------------------------------------------------------------ faults

    def fail(
        self,
        route: str,
        *,
        status: int = 429,
        retry_after: float = 1.0,
        code: int = 0,
        count: int = 1,
        hang: bool = False,
        drop: bool = False,
    ) -> Fault:
        """Make the next ``count`` calls of ``"METHOD /path-regex"`` fail (429 by default)."""
        method, _, pattern = route.partition(" ")
        fault = Fault(method, re.compile(pattern), None, status, retry_after, code, hang, drop, count)
        self.faults.append(fault)
        return fault

    def throttle(self, channel_id: int, *, retry_after: float = 2.0, count: int = -1) -> Fault:
        """Answer 429 to every call touching one channel (its webhook and threads too)."""
        fault = Fault("*", None, channel_id, 429, retry_after, 0, False, False, count)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def _channel_of_path(self, path: str) -> int | None:
        m = re.match(r"/channels/(\d+)", path)
        if m:
            return self._parent(int(m[1]))
        m = re.match(r"/webhooks/(\d+)/", path)
        if m and int(m[1]) in self.webhooks:
            return int(self.webhooks[int(m[1])]["channel_id"])
        return None

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count == 0 or fault.method not in ("*", method):
                continue
            if fault.path is not None and not fault.path.fullmatch(path):
                continue
            if fault.channel is not None and self._channel_of_path(path) != fault.channel:
                continue
            if fault.count > 0:
                fault.count -= 1
            return fault
        return None

    # ------------------------------------------------------------ gateway

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH to every session; sessions whose socket is down keep it for RESUME."""
        for session in list(self.sessions.values()):
            if event == "MESSAGE_CREATE" and not session.intents & MESSAGE_CONTENT_INTENT:
                data = dict(data, content="", attachments=[], embeds=[])
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.buffer = [*session.buffer[-999:], frame]
            if session.ws is not None and not session.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await session.ws.send_json(frame)

    async def drop_gateway(self, code: int = 4000, *, invalidate: bool = False) -> None:
        """Close every gateway websocket as a network failure would.

        Sessions stay resumable (events meanwhile are replayed on RESUME) unless
        ``invalidate``, when the client must IDENTIFY afresh and events are lost.
        """
        sockets = [s.ws for s in self.sessions.values() if s.ws is not None and not s.ws.closed]
        for session in self.sessions.values():
            session.ws = None
        if invalidate:
            self.sessions.clear()
        for ws in sockets:
            await ws.close(code=code, message=b"fake: dropped")

    def invalidate_sessions(self) -> None:
        self.sessions.clear()

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as one frame on every live gateway socket (e.g. something that is not JSON)."""
        for session in list(self.sessions.values()):
            if session.ws is not None and not session.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await session.ws.send_str(text)

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_gateway:
            self.calls.append(("GET", "/gateway", 503))
            self._changed_now()
            return web.Response(status=503, text="fake: gateway unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        session: Session | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, data = frame.get("op"), frame.get("d")
            if op == 1:
                await ws.send_json({"op": 11})
            elif op == 2:
                if data.get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                self.identifies.append(data)
                session = Session(secrets.token_hex(16), int(data.get("intents", 0)), ws=ws)
                self.sessions[session.id] = session
                await self._ready(session)
            elif op == 6:
                known = self.sessions.get(data.get("session_id", ""))
                if known is None or data.get("token") != self.token:
                    await ws.send_json({"op": 9, "d": False})
                    continue
                session = known
                session.ws = ws
                self.resumes += 1
                for missed in [f for f in session.buffer if f["s"] > int(data.get("seq") or 0)]:
                    await ws.send_json(missed)
                session.seq += 1
                await ws.send_json({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})
        if session is not None and session.ws is ws:
            session.ws = None
        return ws

    async def _ready(self, session: Session) -> None:
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "session_type": "normal",
            "application": {"id": str(self.app_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
        }
        session.seq += 1
        assert session.ws is not None
        await session.ws.send_json({"op": 0, "t": "READY", "s": session.seq, "d": ready})
        for gid in self.guilds:
            session.seq += 1
            await session.ws.send_json({"op": 0, "t": "GUILD_CREATE", "s": session.seq, "d": self._guild_create(gid)})

    # ------------------------------------------------------------ REST

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        fault = self._fault_for(method, path)
        if fault is not None:
            self.calls.append((method, path, -1 if fault.hang or fault.drop else fault.status))
            self._changed_now()
            if fault.hang:
                await self._closing.wait()  # until the client gives up (or the fake stops)
            if fault.drop:
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError
            if fault.status == 429:
                body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
                return _json(
                    body, 429, {"Retry-After": str(fault.retry_after), "Via": "1.1 google", "X-RateLimit-Scope": "user"}
                )
            return _error(fault.status, fault.code, "fake fault")
        for verb, pattern, handler in self._routes:
            m = pattern.fullmatch(path)
            if verb == method and m:
                if not path.startswith(("/webhooks/", "/interactions/")) and (
                    request.headers.get("Authorization") != f"Bot {self.token}"
                ):
                    response: web.StreamResponse = _error(401, 0, "401: Unauthorized")
                else:
                    response = await handler(request, *m.groups())
                self.calls.append((method, path, response.status))
                self._changed_now()
                return response
        self.calls.append((method, path, 404))
        return _error(404, 0, f"fake Discord does not model {method} {path}")

    async def _body(self, request: web.Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if request.content_type == "multipart/form-data":
            form = await request.post()
            data = json.loads(str(form.get("payload_json", "{}")))
            files = []
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    files.append({"field": key, "filename": value.filename, "size": len(content), "data": content})
            return data, files
        if request.can_read_body:
            return await request.json(), []
        return {}, []

    def _record(self, channel_id: int, **entry: Any) -> None:
        self.records.setdefault(str(self._parent(channel_id)), []).append({"at": time.time(), **entry})

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.bot_user)

    async def _application(self, request: web.Request) -> web.Response:
        return _json(payload("application", id=self.app_id, owner=self.owner, flags=self.application_flags))

    async def _gateway_info(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_channel(self, request: web.Request, cid: str) -> web.Response:
        channel = self.channels.get(int(cid))
        return _json(channel) if channel else _error(404, 10003, "Unknown Channel")

    async def _edit_channel(self, request: web.Request, cid: str) -> web.Response:
        channel = self.channels.get(int(cid))
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        data, _ = await self._body(request)
        if channel["type"] == 11 and "archived" in data:
            channel["thread_metadata"]["archived"] = bool(data["archived"])
        if "name" in data:
            channel["name"] = str(data["name"])
        await self.dispatch("THREAD_UPDATE" if channel["type"] == 11 else "CHANNEL_UPDATE", channel)
        return _json(channel)

    def archive_thread(self, thread_id: int) -> None:
        """Discord archiving an idle thread: posts unarchive it, edits and deletes in it are refused."""
        self.channels[thread_id]["thread_metadata"]["archived"] = True

    def _archived(self, channel_id: str) -> bool:
        channel = self.channels.get(int(channel_id))
        return channel is not None and channel["type"] == 11 and channel["thread_metadata"]["archived"]

    async def _history(self, request: web.Request, cid: str) -> web.Response:
        if int(cid) not in self.channels:
            return _error(404, 10003, "Unknown Channel")
        q = request.query
        limit = min(int(q.get("limit", 50)), 100)
        mine = sorted((m for m in self.messages.values() if m["channel_id"] == cid), key=lambda m: int(m["id"]))
        if "after" in q:
            after = [m for m in mine if int(m["id"]) > int(q["after"])][:limit]
            return _json(list(reversed(after)))  # Discord answers newest first, even with after=
        if "before" in q:
            mine = [m for m in mine if int(m["id"]) < int(q["before"])]
        return _json(list(reversed(mine[-limit:])))

    async def _get_message(self, request: web.Request, cid: str, mid: str) -> web.Response:
        msg = self.messages.get(int(mid))
        if msg is None or msg["channel_id"] != cid:
            return _error(404, 10008, "Unknown Message")
        return _json(msg)

    async def _bot_post(self, request: web.Request, cid: str) -> web.Response:
        data, files = await self._body(request)
        channel = self.channels.get(int(cid))
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        msg = payload(
            "message",
            id=self.next_id(),
            channel_id=int(cid),
            guild_id=channel["guild_id"],
            author=self.bot_user,
            content=data.get("content", ""),
            nonce=data.get("nonce"),
        )
        self.messages[int(msg["id"])] = msg
        self._record(
            int(cid),
            op="bot_post",
            message_id=msg["id"],
            content=msg["content"],
            nonce=data.get("nonce"),
            files=[f["filename"] for f in files],
        )
        await self.dispatch("MESSAGE_CREATE", msg)
        return _json(msg)

    async def _list_webhooks(self, request: web.Request, cid: str) -> web.Response:
        return _json([w for w in self.webhooks.values() if w["channel_id"] == cid])

    async def _create_webhook(self, request: web.Request, cid: str) -> web.Response:
        data, _ = await self._body(request)
        name = str(data.get("name", ""))
        if not 1 <= len(name) <= 80 or re.search("clyde|discord", name, re.IGNORECASE):
            return _error(400, 50035, "Invalid Form Body", errors={"name": name})
        channel = self.channels.get(int(cid))
        if channel is None or channel["type"] != 0:
            return _error(404, 10003, "Unknown Channel")
        wid = self.next_id()
        hook = payload(
            "webhook",
            id=wid,
            guild_id=channel["guild_id"],
            channel_id=int(cid),
            name=name,
            user=self.bot_user,
            application_id=self.app_id,
            token=secrets.token_urlsafe(48),
        )
        self.webhooks[wid] = hook
        return _json(hook)

    async def _start_thread(self, request: web.Request, cid: str, mid: str) -> web.Response:
        data, _ = await self._body(request)
        msg = self.messages.get(int(mid))
        if msg is None or msg["channel_id"] != cid:
            return _error(404, 10008, "Unknown Message")
        if int(mid) in self.channels:
            return _error(400, 160004, "A thread has already been created for this message")
        name = str(data.get("name", ""))
        if not 1 <= len(name) <= 100:
            return _error(400, 50035, "Invalid Form Body", errors={"name": name})
        thread = payload(
            "thread", id=int(mid), guild_id=msg["guild_id"], parent_id=int(cid), name=name, owner_id=self.app_id
        )
        thread["thread_metadata"]["auto_archive_duration"] = data.get("auto_archive_duration", 1440)
        self.channels[int(mid)] = thread
        self._record(int(cid), op="thread", message_id=mid, thread_id=mid, name=name)
        await self.dispatch("THREAD_CREATE", dict(thread, newly_created=True))
        return _json(thread, 201)

    async def _active_threads(self, request: web.Request, gid: str) -> web.Response:
        threads = [
            c
            for c in self.channels.values()
            if c["type"] == 11 and c["guild_id"] == gid and not c["thread_metadata"]["archived"]
        ]
        return _json({"threads": threads, "members": []})

    def _store_commands(self, scope: str, body: list[dict[str, Any]], guild_id: str | None) -> list[dict[str, Any]]:
        known = {c["name"]: c["id"] for c in self.commands.get(scope, [])}
        out = []
        for cmd in body:
            stored = {
                "id": known.get(cmd["name"]) or str(self.next_id()),
                "application_id": str(self.app_id),
                "version": str(self.next_id()),
                "type": 1,
                "default_member_permissions": None,
                "description": "",  # Discord answers "" for message commands
                **cmd,
            }
            if guild_id:
                stored["guild_id"] = guild_id
            out.append(stored)
        self.commands[scope] = out
        return out

    async def _sync_global(self, request: web.Request, app: str) -> web.Response:
        body = await request.json()
        return _json(self._store_commands("global", body, None))

    async def _sync_guild(self, request: web.Request, app: str, gid: str) -> web.Response:
        body = await request.json()
        return _json(self._store_commands(f"guild:{gid}", body, gid))

    def _hook(self, wid: str, token: str) -> dict[str, Any] | None:
        hook = self.webhooks.get(int(wid))
        return hook if hook is not None and hook["token"] == token else None

    async def _execute(self, request: web.Request, wid: str, token: str) -> web.Response:
        if int(wid) == self.app_id:
            return await self._followup(request, token)
        hook = self._hook(wid, token)
        if hook is None:
            return _error(404, 10015, "Unknown Webhook")
        data, files = await self._body(request)
        content = str(data.get("content") or "")
        username = data.get("username") or hook["name"]
        if not 1 <= len(username) <= 80 or re.search("clyde|discord", username, re.IGNORECASE):
            return _error(400, 50035, "Invalid Form Body", errors={"username": username})
        if len(content) > 2000:
            return _error(400, 50035, "Invalid Form Body", errors={"content": "BASE_TYPE_MAX_LENGTH"})
        if not content and not files:
            return _error(400, 50006, "Cannot send an empty message")
        where = int(hook["channel_id"])
        thread_id = request.query.get("thread_id")
        if thread_id:
            thread = self.channels.get(int(thread_id))
            if thread is None or thread["type"] != 11 or thread["parent_id"] != hook["channel_id"]:
                return _error(404, 10003, "Unknown Channel")
            where = int(thread_id)
            if thread["thread_metadata"]["archived"]:  # a post wakes an archived thread up
                thread["thread_metadata"]["archived"] = False
                await self.dispatch("THREAD_UPDATE", thread)
        author = payload(
            "user", id=int(wid), username=username, global_name=None, bot=True, avatar=None, discriminator="0000"
        )
        msg = payload(
            "message",
            id=self.next_id(),
            channel_id=where,
            guild_id=hook["guild_id"],
            author=author,
            content=content,
            webhook_id=wid,
            application_id=str(self.app_id),
            attachments=[self.host_attachment(where, f["filename"], f["data"]) for f in files],
        )
        self.messages[int(msg["id"])] = msg
        self.channels[where]["last_message_id"] = msg["id"]
        self._record(
            where,
            op="post",
            message_id=msg["id"],
            thread_id=thread_id,
            content=content,
            username=data.get("username"),
            avatar_url=data.get("avatar_url"),
            allowed_mentions=data.get("allowed_mentions"),
            webhook_id=wid,
            files=[f["filename"] for f in files],
            uploads=[{"filename": f["filename"], "size": f["size"], "sha256": _sha256(f["data"])} for f in files],
        )
        await self.dispatch("MESSAGE_CREATE", msg)
        if request.query.get("wait") in ("true", "1", "True"):
            return _json(msg)
        return web.Response(status=204)

    def _webhook_message(self, request: web.Request, wid: str, token: str, mid: str) -> dict[str, Any] | web.Response:
        hook = self._hook(wid, token)
        if hook is None:
            return _error(404, 10015, "Unknown Webhook")
        msg = self.messages.get(int(mid))
        where = request.query.get("thread_id") or hook["channel_id"]
        if msg is None or msg.get("webhook_id") != wid or msg["channel_id"] != where:
            return _error(404, 10008, "Unknown Message")
        if request.method != "GET" and self._archived(where):
            return _error(400, 50083, "Thread is archived")
        return msg

    async def _webhook_get(self, request: web.Request, wid: str, token: str, mid: str) -> web.Response:
        found = self._webhook_message(request, wid, token, mid)
        return found if isinstance(found, web.Response) else _json(found)

    async def _webhook_edit(self, request: web.Request, wid: str, token: str, mid: str) -> web.Response:
        found = self._webhook_message(request, wid, token, mid)
        if isinstance(found, web.Response):
            return found
        data, _ = await self._body(request)
        if "content" in data:
            if len(data["content"] or "") > 2000:
                return _error(400, 50035, "Invalid Form Body", errors={"content": "BASE_TYPE_MAX_LENGTH"})
            found["content"] = data["content"] or ""
        if "attachments" in data:  # Discord keeps only the attachments listed (none for [])
            keep = {str(a.get("id")) for a in data["attachments"] or ()}
            found["attachments"] = [a for a in found["attachments"] if a["id"] in keep]
        found["edited_timestamp"] = _iso(time.time())
        self._record(
            int(found["channel_id"]),
            op="edit",
            message_id=mid,
            thread_id=request.query.get("thread_id"),
            content=found["content"],
            allowed_mentions=data.get("allowed_mentions"),
            attachments=len(found["attachments"]),
        )
        await self.dispatch("MESSAGE_UPDATE", found)
        return _json(found)

    async def _webhook_delete(self, request: web.Request, wid: str, token: str, mid: str) -> web.Response:
        found = self._webhook_message(request, wid, token, mid)
        if isinstance(found, web.Response):
            return found
        del self.messages[int(mid)]
        self._record(int(found["channel_id"]), op="delete", message_id=mid, thread_id=request.query.get("thread_id"))
        await self.dispatch(
            "MESSAGE_DELETE", {"id": mid, "channel_id": found["channel_id"], "guild_id": found["guild_id"]}
        )
        return web.Response(status=204)

    def _interaction(self, token: str) -> Interaction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    async def _callback(self, request: web.Request, iid: str, token: str) -> web.Response:
        interaction = self.interactions.get(int(iid))
        if interaction is None or interaction.token != token:
            return _error(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        data, _ = await self._body(request)
        interaction.callbacks.append(data)
        flags = (data.get("data") or {}).get("flags", 0)
        answer = {
            "interaction": {
                "id": iid,
                "type": 2,
                "response_message_loading": data.get("type") == 5,
                "response_message_ephemeral": bool(flags & 64),
            },
            "resource": {"type": data.get("type")},
        }
        if self.empty_interaction_callbacks:
            return web.Response(status=204)  # even when with_response was asked for
        if request.query.get("with_response") in ("1", "true", "True"):
            return _json(answer)
        return web.Response(status=204)

    async def _followup(self, request: web.Request, token: str) -> web.Response:
        interaction = self._interaction(token)
        if interaction is None or not interaction.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        data, files = await self._body(request)
        channel = self.channels[interaction.channel_id]
        msg = payload(
            "message",
            id=self.next_id(),
            channel_id=interaction.channel_id,
            guild_id=channel["guild_id"],
            author=self.bot_user,
            content=str(data.get("content") or ""),
            webhook_id=str(self.app_id),
            application_id=str(self.app_id),
            flags=int(data.get("flags") or 0),
            attachments=[
                payload("attachment", id=self.next_id(), filename=f["filename"], size=f["size"]) for f in files
            ],
        )
        interaction.followups.append({**data, "files": [f["filename"] for f in files], "id": msg["id"]})
        if not msg["flags"] & 64:
            self.messages[int(msg["id"])] = msg
            await self.dispatch("MESSAGE_CREATE", msg)
        return _json(msg)

    # ------------------------------------------------------------ control API (standalone use)

    async def _control(self, request: web.Request) -> web.Response:
        what = request.match_info["what"]
        body = await request.json() if request.can_read_body else {}
        if what == "records":
            return _json({"records": self.records, "calls": self.calls})
        if what == "message":
            msg = await self.user_message(
                int(body["channel_id"]),
                int(body["user_id"]),
                str(body["content"]),
                thread_id=int(body["thread_id"]) if body.get("thread_id") else None,
            )
            return _json(msg)
        if what == "fault":
            if body.get("channel_id"):
                self.throttle(
                    int(body["channel_id"]),
                    retry_after=float(body.get("retry_after", 2.0)),
                    count=int(body.get("count", -1)),
                )
            else:
                self.fail(
                    str(body["route"]),
                    status=int(body.get("status", 429)),
                    retry_after=float(body.get("retry_after", 1.0)),
                    count=int(body.get("count", 1)),
                    hang=bool(body.get("hang")),
                    drop=bool(body.get("drop")),
                )
            return _json({"ok": True})
        if what == "clear_faults":
            self.clear_faults()
            return _json({"ok": True})
        if what == "refuse_gateway":
            self.refuse_gateway = bool(body.get("refuse", True))
            return _json({"ok": True})
        if what == "send_raw":
            await self.send_raw(str(body["text"]))
            return _json({"ok": True})
        if what == "drop_gateway":
            await self.drop_gateway(int(body.get("code", 4000)))
            return _json({"ok": True})
        return _error(404, 0, f"no control {what}")


def seed(fake: FakeDiscord, channels: list[str]) -> dict[str, Any]:
    """One guild with the named channels and one member: what a standalone run starts with."""
    gid = fake.add_guild("City Hall")
    ids = {name: fake.add_channel(gid, name) for name in channels}
    user = fake.add_user("Ana")
    return {"guild_id": str(gid), "channels": {k: str(v) for k, v in ids.items()}, "user_id": str(user)}


async def _serve(port: int, state: Path | None, channels: list[str]) -> None:
    fake = FakeDiscord(token=os.environ.get("DISCORD_TOKEN", "fake-bot-token"), state_file=state)
    world = seed(fake, channels)
    await fake.start(port)
    info = {
        "api_base": fake.api_base,
        "gateway_url": fake.gateway_url,
        "token": fake.token,
        "application_id": str(fake.app_id),
        **world,
    }
    print(json.dumps(info), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake Discord REST API and gateway on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", type=Path, default=None, help="JSON file the records are written to")
    parser.add_argument("--channel", action="append", default=None, help="text channel to create (repeatable)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.state, args.channel or ["general"]))


if __name__ == "__main__":
    main()
