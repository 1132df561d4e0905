"""A fake Slack on 127.0.0.1 for tests: Web API, Socket Mode, Events API sender, uploads, OAuth.

The real slack-sdk and slack-bolt talk to it unmodified: the adapter's
``api_url`` points at ``/api/``, ``apps.connections.open`` hands out the
websocket at ``/link``, ``files.getUploadURLExternal`` an upload URL here, and
slash commands carry a ``response_url`` here. It keeps channels with message
history (for catch-up and find_sent), and acts as Slack towards the app: it
pushes Socket Mode envelopes and waits for their acks, or POSTs signed
requests to an HTTP-mode endpoint, and echoes the bot's own posts back as
events the way Slack does.

For the load and fault tests it keeps a record of every post, edit, delete,
ephemeral message and upload it accepted, per channel and in order, with the
copy's nonce; takes fault knobs (the next N calls to a method answer 429 with
Retry-After, 5xx, a Slack error, hang, or drop the connection; per-channel
pacing that answers 429 like Slack's one-message-per-second rule; websocket
disconnects); and runs standalone::

    python -m testing.slack_server --port 0 --state /tmp/slack.json

printing ``{"url": ...}`` on its first line and rewriting the state file on
every record, so a test can SIGKILL the bot and still read what Slack got.
Other processes drive it through ``/_control/*`` (see :meth:`FakeSlack._control`).

Several Socket Mode connections may be open at once (one per replica of the
app), as Slack allows: each envelope goes to one of them in turn, and an envelope
nobody acknowledged is sent again to the next one, so a replica that dies
costs a retry, not an event. ``acks_by_connection`` says which connection
acknowledged how many; ``drop_socket(n)`` cuts connection ``n``.

Payload builders (event callbacks, slash commands, shortcuts) live here too,
filled from the recorded shapes in ``testing/payloads/slack/``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import json
import mimetypes
import os
import signal
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

PAYLOADS = Path(__file__).resolve().parent / "payloads" / "slack"
TEAM = "T0001"
BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-1-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
ALL_SCOPES = (
    "chat:write,chat:write.customize,commands,channels:history,groups:history,"
    "channels:read,groups:read,users:read,usergroups:read,files:write,files:read"
)
ACK_TIMEOUT = 3.0  # Slack's limit for acknowledging an envelope or answering a request
MAX_RETRIES = 3  # Slack retries an unacknowledged event three times
GIVE_UP = 60.0  # how long the fake still waits after the last retry


# ------------------------------------------------------------------ payloads


def load_payload(name: str) -> dict[str, Any]:
    """A recorded payload shape from testing/payloads/slack/<name>.json (a fresh copy)."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def message_event(
    channel: str,
    user: str,
    text: str,
    ts: str,
    *,
    thread_ts: str | None = None,
    team: str = TEAM,
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A user's ``message`` event (a thread reply when ``thread_ts`` is given)."""
    event = load_payload("file_share" if files else "message")
    event.pop("blocks", None)
    event.update(
        {"user": user, "text": text, "ts": ts, "event_ts": ts, "channel": channel, "team": team, "files": files}
    )
    if not files:
        event.pop("files")
    if thread_ts:
        event["thread_ts"] = thread_ts
    event["client_msg_id"] = str(uuid.uuid4())
    return event


def message_changed(channel: str, message: Mapping[str, Any], previous: Mapping[str, Any], ts: str) -> dict[str, Any]:
    event = load_payload("message_changed")
    event.update({"channel": channel, "message": dict(message), "previous_message": dict(previous)})
    event["ts"] = event["event_ts"] = ts
    return event


def message_deleted(channel: str, previous: Mapping[str, Any], ts: str) -> dict[str, Any]:
    event = load_payload("message_deleted")
    event.update({"channel": channel, "deleted_ts": previous["ts"], "previous_message": dict(previous)})
    event["ts"] = event["event_ts"] = ts
    return event


def event_callback(
    event: Mapping[str, Any], *, team: str = TEAM, bot_user: str = "UBOT", event_id: str | None = None
) -> dict[str, Any]:
    """The Events API envelope Slack wraps every event in."""
    body = load_payload("event_callback")
    body.update(
        {
            "team_id": team,
            "context_team_id": team,
            "event": dict(event),
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
        }
    )
    body["authorizations"][0].update({"team_id": team, "user_id": bot_user})
    return body


def slash_command(
    command: str, text: str, *, user: str, channel: str, team: str = TEAM, response_url: str, user_name: str = ""
) -> dict[str, str]:
    """Slash-command form fields (HTTP mode posts them form-encoded; Socket Mode sends them as JSON)."""
    payload: dict[str, str] = load_payload("slash_command")
    payload.update(
        {
            "command": command,
            "text": text,
            "user_id": user,
            "user_name": user_name or user.lower(),
            "channel_id": channel,
            "team_id": team,
            "response_url": response_url,
            "trigger_id": uuid.uuid4().hex,
        }
    )
    return payload


def message_shortcut(
    callback_id: str, message: Mapping[str, Any], *, user: str, channel: str, team: str = TEAM, response_url: str
) -> dict[str, Any]:
    payload = load_payload("message_action")
    payload.update(
        {
            "callback_id": callback_id,
            "message": dict(message),
            "message_ts": message.get("ts"),
            "response_url": response_url,
            "trigger_id": uuid.uuid4().hex,
        }
    )
    payload["team"]["id"] = team
    payload["user"].update({"id": user, "team_id": team})
    payload["channel"]["id"] = channel
    return payload


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature (computed here independently of slack_sdk)."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------- model


@dataclass
class Workspace:
    team_id: str
    name: str
    bot_token: str
    bot_id: str = "BBOT"
    bot_user_id: str = "UBOT"
    scopes: str = ALL_SCOPES


@dataclass
class Fault:
    kind: str  # ratelimited | server_error | error | hang | drop
    times: int = 1
    retry_after: float = 1.0
    error: str = ""


@dataclass
class Channel:
    id: str
    team: str
    name: str
    creator: str = ""
    is_private: bool = False
    bot_member: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)


def _ts_key(ts: Any) -> tuple[int, int]:
    secs, _, micros = str(ts).partition(".")
    try:
        return int(secs), int(micros.ljust(6, "0")[:6] or 0)
    except ValueError:
        return 0, 0


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


class SlackError(Exception):
    def __init__(self, error: str, status: int = 200) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


# ---------------------------------------------------------------------- fake


class FakeSlack:
    """The fake; ``await start()`` binds 127.0.0.1 (port 0 unless given)."""

    def __init__(self, *, state_path: Path | None = None, hang_seconds: float = 30.0) -> None:
        self.state_path = state_path
        self.hang_seconds = hang_seconds
        self.ack_timeout = ACK_TIMEOUT
        self.lose_acks = 0  # the next N acks are lost on the way (Slack then re-sends the envelope)
        self.app_token = APP_TOKEN
        self.signing_secret = SIGNING_SECRET
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.workspaces: dict[str, Workspace] = {}
        self.users: dict[tuple[str, str], dict[str, Any]] = {}
        self.usergroups: dict[str, list[dict[str, Any]]] = {}
        self.channels: dict[str, Channel] = {}
        self.records: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.share_delay = 0.0  # seconds before a completed upload appears in its channel (Slack shares later)
        self.file_fetches: list[dict[str, Any]] = []  # every GET of a file URL: path and the token it carried
        self.file_redirect: str | None = None  # file downloads answer 302 to this URL (a hostile redirect)
        self.faults: dict[str, list[Fault]] = {}
        self.latency = 0.0  # seconds every Web API call takes before it is handled (a real server's round trip)
        self.throttles: dict[str, float] = {}
        self.oauth_codes: dict[str, str] = {}
        self.echo = True
        self.echo_results: list[Any] = []  # the app's acks (or HTTP answers) to echoed own posts
        self.events_url: str | None = None
        self.socket_connections = 0
        self.ack_latencies: list[float] = []  # seconds from sending an envelope to its ack
        self.event_retries = 0  # envelopes re-sent because no ack came within ACK_TIMEOUT
        self.events_unacknowledged = 0  # events given up on after every retry
        self._pushed_at: dict[str, float] = {}
        self.socket_disconnects = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []  # open Socket Mode connections, oldest first
        self._socket_number: dict[int, int] = {}  # id(ws) -> its connection number (1, 2, ...)
        self._turn = 0  # which open connection gets the next envelope
        self.acks_by_connection: dict[int, int] = {}  # connection number -> envelopes it acknowledged
        self._ws_ready = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._last_post: dict[str, float] = {}
        self._last_us = 0
        self._background: set[asyncio.Task[Any]] = set()
        self.add_workspace(TEAM, "Boston", BOT_TOKEN)

    # ------------------------------------------------------------ set-up

    def add_workspace(self, team_id: str, name: str, bot_token: str, **kw: Any) -> Workspace:
        ws = Workspace(team_id, name, bot_token, **kw)
        self.workspaces[team_id] = ws
        return ws

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        team: str = TEAM,
        locale: str = "en-US",
        is_admin: bool = False,
        avatar: str | None = None,
    ) -> dict[str, Any]:
        user = load_payload("users_info")
        user.update({"id": user_id, "team_id": team, "name": name.lower(), "real_name": name, "locale": locale})
        user["is_admin"] = is_admin
        user["profile"].update(
            {
                "real_name": name,
                "display_name": name,
                "image_72": avatar or f"https://avatars.example.org/{user_id}_72.png",
                "image_192": avatar or f"https://avatars.example.org/{user_id}_192.png",
                "team": team,
            }
        )
        self.users[(team, user_id)] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, team: str = TEAM, creator: str = "", **kw: Any) -> Channel:
        ch = Channel(channel_id, team, name, creator, **kw)
        self.channels[channel_id] = ch
        return ch

    def add_usergroup(self, group_id: str, handle: str, *, team: str = TEAM, name: str = "") -> dict[str, Any]:
        group = {"id": group_id, "team_id": team, "handle": handle, "name": name or handle, "is_usergroup": True}
        self.usergroups.setdefault(team, []).append(group)
        return group

    def fail(self, method: str, kind: str, *, times: int = 1, retry_after: float = 1.0, error: str = "") -> None:
        """The next ``times`` calls to ``method`` fail (``upload`` is the upload URL).

        ``ratelimited``: 429 with Retry-After; ``server_error``: 503 text/plain; ``error``: ok=false with
        ``error``; ``drop``: the connection is cut; ``hang``: the answer comes after ``hang_seconds`` and the
        call still takes effect (a timeout the client saw although Slack acted — what find_sent is for).
        """
        self.faults.setdefault(method, []).append(Fault(kind, times, retry_after, error))

    def throttle(self, channel: str, interval: float) -> None:
        """Posts to ``channel`` closer than ``interval`` seconds apart get a 429."""
        self.throttles[channel] = interval

    # ------------------------------------------------------------- server

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{key}/{name:.*}", self._file_download)
        app.router.add_get("/signin", self._signin)
        app.router.add_post("/respond/{rid}", self._respond)
        app.router.add_route("*", "/_control/{action}", self._control)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        self._load_state()

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --------------------------------------------------------- web api

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        params = await self._params(request)
        token = self._token(request, params)
        self.calls.append({"method": method, "params": params, "token": token, "at": time.time()})
        self._notify()
        fault = self._take_fault(method)
        if fault is not None:
            response = await self._fault_response(request, fault)
            if response is not None:
                return response
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        try:
            data = handler(params, token) if handler else {}
            headers: dict[str, str] = {}
            if method == "auth.test":
                headers["x-oauth-scopes"] = self._workspace(token).scopes
            return web.json_response({"ok": True, **data}, headers=headers)
        except SlackError as exc:
            retry = {"Retry-After": str(exc.retry_after)} if isinstance(exc, _RateLimited) else {}
            return web.json_response({"ok": False, "error": exc.error}, status=exc.status, headers=retry)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    def _token(self, request: web.Request, params: dict[str, Any]) -> str:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:]
        if auth.startswith("Basic "):
            return "basic:" + base64.b64decode(auth[6:]).decode()
        return str(params.pop("token", "") or "")

    def _take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    async def _fault_response(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        if fault.kind == "ratelimited":
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": f"{fault.retry_after:g}"}
            )
        if fault.kind == "server_error":
            return web.Response(status=503, text="upstream connect error", content_type="text/plain")
        if fault.kind == "error":
            return web.json_response({"ok": False, "error": fault.error or "internal_error"})
        if fault.kind == "hang":
            await asyncio.sleep(self.hang_seconds)
            return None
        if fault.kind == "drop" and request.transport is not None:
            request.transport.abort()
            return web.Response(status=500)
        return None

    def _workspace(self, token: str) -> Workspace:
        for ws in self.workspaces.values():
            if ws.bot_token == token:
                return ws
        raise SlackError("invalid_auth")

    def _channel(self, params: Mapping[str, Any], ws: Workspace, key: str = "channel") -> Channel:
        ch = self.channels.get(str(params.get(key) or ""))
        if ch is None or ch.team != ws.team_id:
            raise SlackError("channel_not_found")
        return ch

    def _next_ts(self) -> str:
        us = max(int(time.time() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _m_auth_test(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        return {
            "url": f"https://{ws.name.lower()}.slack.com/",
            "team": ws.name,
            "user": "agora",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if token.startswith("xoxb-"):
            raise SlackError("not_allowed_token_type")
        if token != self.app_token:
            raise SlackError("invalid_auth")
        return {"url": self.url.replace("http://", "ws://") + "/link"}

    def _m_users_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        user = self.users.get((ws.team_id, str(params.get("user"))))
        if user is None:
            raise SlackError("user_not_found")
        out = copy.deepcopy(user)
        if not _truthy(params.get("include_locale")):
            out.pop("locale", None)
        return {"user": out}

    def _m_usergroups_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        if "usergroups:read" not in ws.scopes.split(","):
            raise SlackError("missing_scope")
        return {"usergroups": copy.deepcopy(self.usergroups.get(ws.team_id, []))}

    def _m_conversations_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._channel(params, self._workspace(token))
        return {
            "channel": {
                "id": ch.id,
                "name": ch.name,
                "creator": ch.creator,
                "is_private": ch.is_private,
                "is_member": ch.bot_member,
            }
        }

    def _m_chat_postMessage(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        ch = self._channel(params, ws)
        if not ch.bot_member:
            raise SlackError("not_in_channel")
        text = str(params.get("text") or "")
        if not text and not params.get("blocks"):
            raise SlackError("no_text")
        if len(text) > 40_000:
            raise SlackError("msg_too_long")
        interval = self.throttles.get(ch.id)
        now = time.monotonic()
        if interval is not None and now - self._last_post.get(ch.id, -1e9) < interval:
            wait = interval - (now - self._last_post[ch.id])
            raise _RateLimited(max(1, int(wait + 0.999)))
        self._last_post[ch.id] = now
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "text": text,
            "ts": ts,
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": "A0AGORA",
            "team": ws.team_id,
            "bot_profile": {"id": ws.bot_id, "name": "Agora", "app_id": "A0AGORA"},
        }
        blocks = _checked_blocks(params.get("blocks"))
        if blocks:
            message["blocks"] = blocks
        if params.get("username"):
            message["username"] = params["username"]
        if params.get("icon_url"):
            message["icons"] = {"image_48": params["icon_url"]}
        if metadata:
            message["metadata"] = metadata
        thread_ts = params.get("thread_ts") or None
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
        self._store(ch, message)
        nonce = ((metadata or {}).get("event_payload") or {}).get("nonce")
        self._record(
            "post",
            ch,
            ts=ts,
            thread_ts=message.get("thread_ts"),
            text=text,
            blocks=blocks or None,
            username=params.get("username"),
            icon_url=params.get("icon_url"),
            nonce=nonce,
            token=token,
        )
        self._echo_later(ws, message_event_for_bot(ch.id, message))
        return {"channel": ch.id, "ts": ts, "message": message}

    def _m_chat_update(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        ch = self._channel(params, ws)
        message = self._find(ch, str(params.get("ts")))
        if message.get("bot_id") != ws.bot_id:
            raise SlackError("cant_update_message")
        previous = copy.deepcopy(message)
        message["text"] = str(params.get("text") or "")
        if "blocks" in params:  # absent keeps the old blocks, [] removes them (as Slack does)
            message["blocks"] = _checked_blocks(params.get("blocks")) or []
            if not message["blocks"]:
                del message["blocks"]
        message["edited"] = {"user": ws.bot_user_id, "ts": self._next_ts()}
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata:
            message["metadata"] = metadata
        self._record(
            "update",
            ch,
            ts=message["ts"],
            thread_ts=message.get("thread_ts"),
            text=message["text"],
            blocks=message.get("blocks"),
        )
        self._echo_later(ws, message_changed(ch.id, message, previous, self._next_ts()))
        return {"channel": ch.id, "ts": message["ts"], "text": message["text"]}

    def _m_chat_delete(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        ch = self._channel(params, ws)
        message = self._find(ch, str(params.get("ts")))
        if message.get("bot_id") != ws.bot_id:
            raise SlackError("cant_delete_message")
        ch.messages.remove(message)
        self._record("delete", ch, ts=message["ts"], thread_ts=message.get("thread_ts"))
        self._echo_later(ws, message_deleted(ch.id, message, self._next_ts()))
        return {"channel": ch.id, "ts": message["ts"]}

    def _m_chat_postEphemeral(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._channel(params, self._workspace(token))
        if not ch.bot_member:
            raise SlackError("not_in_channel")
        self._record(
            "ephemeral",
            ch,
            user=params.get("user"),
            text=str(params.get("text") or ""),
            thread_ts=params.get("thread_ts") or None,
        )
        return {"message_ts": self._next_ts()}

    def _m_conversations_history(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._channel(params, self._workspace(token))
        top = [m for m in ch.messages if not _is_reply(m) or m.get("subtype") == "thread_broadcast"]
        top = self._window(top, params)
        top.reverse()  # newest first, as Slack answers
        return self._page(top, params)

    def _m_conversations_replies(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._channel(params, self._workspace(token))
        root = str(params.get("ts") or "")
        parent = next((m for m in ch.messages if m["ts"] == root), None)
        if parent is None:
            raise SlackError("thread_not_found")
        replies = [m for m in ch.messages if m.get("thread_ts") == root and m["ts"] != root]
        return self._page([parent, *self._window(replies, params)], params)

    def _window(self, messages: list[dict[str, Any]], params: Mapping[str, Any]) -> list[dict[str, Any]]:
        inclusive = _truthy(params.get("inclusive"))
        oldest = _ts_key(params.get("oldest") or "0")
        latest = _ts_key(params["latest"]) if params.get("latest") else None
        out = []
        for m in messages:
            key = _ts_key(m["ts"])
            if key < oldest or (key == oldest and not inclusive):
                continue
            if latest is not None and (key > latest or (key == latest and not inclusive)):
                continue
            out.append(m)
        return out

    def _page(self, messages: list[dict[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
        limit = int(params.get("limit") or 100)
        start = int(str(params.get("cursor") or "c:0").partition(":")[2] or 0)
        chunk = messages[start : start + limit]
        with_meta = _truthy(params.get("include_all_metadata"))
        out = []
        for m in chunk:
            item = copy.deepcopy(m)
            if not with_meta:
                item.pop("metadata", None)
            out.append(item)
        more = start + limit < len(messages)
        return {
            "messages": out,
            "has_more": more,
            "response_metadata": {"next_cursor": f"c:{start + limit}" if more else ""},
        }

    def _m_files_getUploadURLExternal(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        length = str(params.get("length") or "")
        if not params.get("filename") or not length.isdigit():
            raise SlackError("invalid_arguments")
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.files[file_id] = {
            "id": file_id,
            "team": ws.team_id,
            "user": ws.bot_user_id,
            "name": params["filename"],
            "mimetype": mimetypes.guess_type(str(params["filename"]))[0] or "application/octet-stream",
            "length": int(length),
            "data": None,
        }
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        items = json.loads(str(params.get("files") or "[]"))
        done = []
        for item in items:
            f = self.files.get(item.get("id"))
            if f is None or f["data"] is None:
                raise SlackError("file_not_found")
            f["title"] = item.get("title") or f["name"]
            f["permalink"] = f"https://{ws.name.lower()}.slack.com/files/{ws.bot_user_id}/{f['id']}/{f['name']}"
            f["url_private"] = f"{self.url}/files-pri/{ws.team_id}-{f['id']}/{f['name']}"
            f["url_private_download"] = f"{self.url}/files-pri/{ws.team_id}-{f['id']}/download/{f['name']}"
            done.append(f)
        channel_id = params.get("channel_id") or None
        if channel_id:
            ch = self._channel({"channel": channel_id}, ws)
            if not ch.bot_member:
                raise SlackError("not_in_channel")
        share = (ws, str(channel_id) if channel_id else None, done, params)
        if self.share_delay > 0:  # Slack completes the share asynchronously (security scans…)
            task = asyncio.get_running_loop().create_task(self._share_later(self.share_delay, *share))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        else:
            self._share(*share)
        # Like Slack: only id and title come back, never the message the share makes.
        return {"files": [{"id": f["id"], "title": f["title"]} for f in done]}

    async def _share_later(self, delay: float, *share: Any) -> None:
        await asyncio.sleep(delay)
        self._share(*share)

    def _share(self, ws: Workspace, channel_id: str | None, done: list[dict[str, Any]], params: dict[str, Any]) -> None:
        """The file_share message a completed upload makes (recorded as one ``upload`` per file)."""
        ch = self.channels.get(channel_id) if channel_id else None
        ts = self._next_ts()
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        if ch is not None:
            message: dict[str, Any] = {
                "type": "message",
                "subtype": "file_share",
                "text": str(params.get("initial_comment") or ""),
                "ts": ts,
                "user": ws.bot_user_id,
                "bot_id": ws.bot_id,
                "upload": True,
                "display_as_bot": False,
                "files": [_public_file(f) for f in done],
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
            self._store(ch, message)
            for f in done:
                share = {"ts": ts, "channel_name": ch.name, "team_id": ws.team_id, "share_user_id": ws.bot_user_id}
                if thread_ts:
                    share["thread_ts"] = thread_ts
                kind = "private" if ch.is_private else "public"
                f.setdefault("shares", {}).setdefault(kind, {}).setdefault(ch.id, []).append(share)
                f.setdefault("channels" if not ch.is_private else "groups", []).append(ch.id)
        for f in done:
            self._record(
                "upload",
                ch,
                file_id=f["id"],
                name=f["name"],
                size=len(f["data"]),
                sha256=hashlib.sha256(f["data"]).hexdigest(),
                thread_ts=thread_ts,
                ts=ts if ch is not None else None,
                text=str(params.get("initial_comment") or ""),
            )
        if ch is not None:
            self._echo_later(ws, message_event_for_bot(ch.id, message))

    def _m_files_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        f = self.files.get(str(params.get("file") or ""))
        if f is None or f.get("team") != ws.team_id:
            raise SlackError("file_not_found")
        return {"file": _public_file(f, shares=True)}

    def _m_files_delete(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ws = self._workspace(token)
        f = self.files.get(str(params.get("file") or ""))
        if f is None or f.get("team") != ws.team_id:
            raise SlackError("file_not_found")
        if f.get("user") not in (None, ws.bot_user_id):
            raise SlackError("cant_delete_file")
        del self.files[f["id"]]
        for ch in self.channels.values():  # messages that shared it keep a tombstone
            for m in ch.messages:
                m["files"] = [
                    {"id": x["id"], "mode": "tombstone"} if x.get("id") == f["id"] else x for x in m.get("files") or ()
                ]
        self._record("file_delete", None, file_id=f["id"], team=ws.team_id)
        return {}

    def host_file(
        self, name: str, data: bytes, *, team: str = TEAM, mimetype: str = "application/pdf", user: str = "U0ANA"
    ) -> dict[str, Any]:
        """A file a person uploaded to Slack: the file object their message's ``files`` carries."""
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        ws = self.workspaces[team]
        self.files[file_id] = {
            "id": file_id,
            "team": team,
            "user": user,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rpartition(".")[2] if "." in name else "binary",
            "length": len(data),
            "data": data,
            "mode": "hosted",
            "url_private": f"{self.url}/files-pri/{team}-{file_id}/{name}",
            "url_private_download": f"{self.url}/files-pri/{team}-{file_id}/download/{name}",
            "permalink": f"https://{ws.name.lower()}.slack.com/files/{user}/{file_id}/{name}",
        }
        return _public_file(self.files[file_id])

    def _m_oauth_v2_access(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if token.startswith("basic:"):
            client_id, _, client_secret = token[6:].partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            raise SlackError("invalid_client_id")
        team = self.oauth_codes.pop(str(params.get("code") or ""), None)
        if team is None:
            raise SlackError("invalid_code")
        ws = self.workspaces[team]
        answer = load_payload("oauth_v2_access")
        answer.pop("ok")
        answer.update(
            {
                "access_token": ws.bot_token,
                "bot_user_id": ws.bot_user_id,
                "team": {"id": ws.team_id, "name": ws.name},
                "scope": ws.scopes,
            }
        )
        return answer

    # ------------------------------------------------------ other routes

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        fault = self._take_fault("upload")
        if fault is not None:
            response = await self._fault_response(request, fault)
            if response is not None:
                return response
        f = self.files.get(request.match_info["file_id"])
        if f is None:
            return web.Response(status=404, text="no such upload")
        data = await request.read()
        if len(data) != f["length"]:
            return web.Response(status=400, text=f"length {len(data)} != {f['length']}")
        f["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _file_download(self, request: web.Request) -> web.StreamResponse:
        """``url_private(_download)``: the bytes for a bot token of the file's workspace with files:read;
        anyone else is redirected to the sign-in page, as Slack does."""
        fault = self._take_fault("file")
        if fault is not None:
            response = await self._fault_response(request, fault)
            if response is not None:
                return response
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        self.file_fetches.append({"path": request.path, "token": token})
        self._notify()
        if self.file_redirect:
            raise web.HTTPFound(self.file_redirect)
        team, _, file_id = request.match_info["key"].partition("-")
        f = self.files.get(file_id)
        ws = next((w for w in self.workspaces.values() if token and w.bot_token == token), None)
        allowed = ws is not None and ws.team_id == team and "files:read" in ws.scopes.split(",")
        if f is None or f.get("data") is None or f.get("team") != team or not allowed:
            raise web.HTTPFound(f"/signin?redir={request.path}")
        return web.Response(body=f["data"], content_type=f.get("mimetype") or "application/octet-stream")

    async def _signin(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>", content_type="text/html")

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.responses.append({"rid": request.match_info["rid"], **body})
        self._record("respond", None, rid=request.match_info["rid"], **body)
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        try:
            await ws.prepare(request)
        except ConnectionError:  # the client gave up while the fake was shutting down
            return web.Response(status=499)
        self._sockets.append(ws)
        self.socket_connections += 1
        number = self._socket_number[id(ws)] = self.socket_connections
        self._ws_ready.set()
        hello = {"type": "hello", "num_connections": len(self._sockets), "debug_info": {"host": "fake"}}
        await ws.send_str(json.dumps(hello))
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            envelope_id = data.get("envelope_id", "")
            if envelope_id and self.lose_acks > 0:
                self.lose_acks -= 1
                continue
            pushed = self._pushed_at.pop(envelope_id, None)
            if pushed is not None:
                self.ack_latencies.append(time.monotonic() - pushed)
                self.acks_by_connection[number] = self.acks_by_connection.get(number, 0) + 1
            future = self._acks.get(envelope_id)
            if future is not None and not future.done():
                future.set_result(data)
        self._forget_socket(ws)
        return ws

    def _forget_socket(self, ws: web.WebSocketResponse) -> None:
        if ws in self._sockets:
            self._sockets.remove(ws)
        if not self._sockets:
            self._ws_ready.clear()

    @property
    def _ws(self) -> web.WebSocketResponse | None:
        """The newest open connection (the only one while one app process is connected)."""
        open_ = [ws for ws in self._sockets if not ws.closed]
        return open_[-1] if open_ else None

    @property
    def open_sockets(self) -> list[int]:
        """The numbers of the Socket Mode connections open now, oldest first."""
        return [self._socket_number[id(ws)] for ws in self._sockets if not ws.closed]

    def _connection(self, number: int | None) -> web.WebSocketResponse | None:
        if number is None:
            return self._ws
        return next((ws for ws in self._sockets if self._socket_number[id(ws)] == number), None)

    async def _control(self, request: web.Request) -> web.StreamResponse:
        """Drive the fake from another process: fail, throttle, events_url, post, records."""
        action = request.match_info["action"]
        body: dict[str, Any] = await request.json() if request.can_read_body else {}
        if action == "fail":
            self.fail(
                body["method"],
                body["kind"],
                times=int(body.get("times", 1)),
                retry_after=float(body.get("retry_after", 1)),
                error=body.get("error", ""),
            )
        elif action == "throttle":
            self.throttle(body["channel"], float(body["interval"]))
        elif action == "events_url":
            self.events_url = body.get("url")
        elif action == "channel":
            self.add_channel(body["id"], body.get("name", body["id"]), team=body.get("team", TEAM))
        elif action == "user":
            self.add_user(body["id"], body["name"], team=body.get("team", TEAM), locale=body.get("locale", "en-US"))
        elif action == "post":
            ts = await self.user_posts(body["channel"], body["user"], body["text"], thread_ts=body.get("thread_ts"))
            return web.json_response({"ts": ts})
        elif action == "disconnect":
            await self.disconnect_socket()
        elif action == "drop_socket":
            await self.drop_socket(body.get("number"))
        elif action == "records":
            channel = request.query.get("channel")
            return web.json_response([r for r in self.records if channel is None or r.get("channel") == channel])
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=404)
        return web.json_response({"ok": True})

    # ----------------------------------------------- state and records

    def _store(self, ch: Channel, message: dict[str, Any]) -> None:
        ch.messages.append(message)
        ch.messages.sort(key=lambda m: _ts_key(m["ts"]))
        if _is_reply(message):
            parent = next((m for m in ch.messages if m["ts"] == message["thread_ts"]), None)
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                parent["latest_reply"] = max(str(parent.get("latest_reply", "0")), message["ts"], key=_ts_key)
                users = parent.setdefault("reply_users", [])
                if message.get("user") and message["user"] not in users:
                    users.append(message["user"])

    def _find(self, ch: Channel, ts: str) -> dict[str, Any]:
        for m in ch.messages:
            if m["ts"] == ts:
                return m
        raise SlackError("message_not_found")

    def _record(self, op: str, ch: Channel | None, **fields: Any) -> None:
        record = {"op": op, "channel": ch.id if ch else None, "team": ch.team if ch else None, "at": time.time()}
        record.update({k: v for k, v in fields.items() if k != "token" or v})
        self.records.append(record)
        self._save_state()
        self._notify()

    def records_for(self, channel: str, *ops: str) -> list[dict[str, Any]]:
        """What the fake accepted in one channel, in order (optionally only some ops)."""
        return [r for r in self.records if r["channel"] == channel and (not ops or r["op"] in ops)]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == method]

    def _save_state(self) -> None:
        if self.state_path is None:
            return
        state = {
            "records": self.records,
            "channels": {
                cid: {"team": ch.team, "name": ch.name, "messages": ch.messages} for cid, ch in self.channels.items()
            },
        }
        tmp = self.state_path.with_suffix(self.state_path.suffix + ".tmp")
        tmp.write_text(json.dumps(state, default=str), encoding="utf-8")
        os.replace(tmp, self.state_path)

    def _load_state(self) -> None:
        if self.state_path is None or not self.state_path.exists():
            return
        state = json.loads(self.state_path.read_text(encoding="utf-8"))
        self.records = list(state.get("records", []))
        for cid, data in state.get("channels", {}).items():
            ch = self.channels.get(cid) or self.add_channel(cid, data.get("name", cid), team=data.get("team", TEAM))
            ch.messages = list(data.get("messages", []))

    def _notify(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` returns something truthy (records, calls, responses)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("fake slack: condition not met in time")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    # ------------------------------------------------- acting as Slack

    async def wait_socket(self, timeout: float = 5.0) -> web.WebSocketResponse:
        """The connection the next envelope goes to: the open ones in turn (waiting while none is open)."""

        async def connected() -> web.WebSocketResponse:
            while True:
                open_ = [ws for ws in self._sockets if not ws.closed]
                if open_:
                    self._turn += 1
                    return open_[self._turn % len(open_)]
                await self._ws_ready.wait()
                await asyncio.sleep(0)

        return await asyncio.wait_for(connected(), timeout)

    async def push(
        self, type_: str, payload: Mapping[str, Any], *, retry_attempt: int | None = None, retry_reason: str = ""
    ) -> str:
        """Send one Socket Mode envelope; returns its envelope id (see :meth:`wait_ack`)."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": dict(payload),
            "accepts_response_payload": type_ != "events_api",
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or "timeout"
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        self._pushed_at[envelope_id] = time.monotonic()
        for attempt in range(3):  # a connection the client is replacing refuses writes: use the new one
            ws = await self.wait_socket()
            try:
                await ws.send_str(json.dumps(envelope))
                break
            except ConnectionError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.05)
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(asyncio.shield(self._acks[envelope_id]), timeout)

    async def disconnect_socket(self, reason: str = "refresh_requested", number: int | None = None) -> None:
        """What Slack does every few hours: ask a client (the newest connection, or number ``number``)
        to reconnect (it closes the old socket itself)."""
        ws = self._connection(number)
        if ws is None:
            return
        self.socket_disconnects += 1
        with contextlib.suppress(ConnectionError):
            await ws.send_str(json.dumps({"type": "disconnect", "reason": reason}))

    async def drop_socket(self, number: int | None = None) -> None:
        """A network failure: close a socket (the newest, or connection ``number``) without warning."""
        ws = self._connection(number)
        if ws is None:
            return
        self.socket_disconnects += 1
        self._forget_socket(ws)
        await ws.close()

    async def post_http(
        self,
        url: str,
        body: Mapping[str, Any] | str,
        *,
        form: bool = False,
        secret: str | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
    ) -> tuple[int, str]:
        """POST a signed request to an HTTP-mode endpoint, as Slack does."""
        if isinstance(body, str):
            raw, ctype = body, "application/x-www-form-urlencoded"
        elif form:
            raw, ctype = urlencode(dict(body)), "application/x-www-form-urlencoded"
        else:
            raw, ctype = json.dumps(body), "application/json"
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": ctype,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret or self.signing_secret, ts, raw),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with aiohttp.ClientSession() as session, session.post(url, data=raw.encode(), headers=headers) as resp:
            return resp.status, await resp.text()

    async def deliver_event(self, body: Mapping[str, Any], *, retry_num: int | None = None) -> Any:
        """Send an event callback to the app the way it is connected, and return its ack.

        In Socket Mode this behaves like Slack: an envelope not acknowledged within
        ``ack_timeout`` (Slack: 3 s) is sent again (``retry_attempt`` 1, 2, 3), and a late ack of any
        attempt still counts, so a slow app costs retries (``event_retries``), which
        the app must deduplicate, never a failed test. After the last retry the fake
        waits GIVE_UP seconds more and then, like Slack, gives up (``events_unacknowledged``;
        catch-up finds such a message in history after a restart).
        """
        if self.events_url:
            return await self.post_http(self.events_url, body, retry_num=retry_num)
        attempt = retry_num
        pending: list[asyncio.Future[dict[str, Any]]] = []
        while True:
            envelope_id = await self.push("events_api", body, retry_attempt=attempt)
            pending.append(asyncio.shield(self._acks[envelope_id]))
            last = (attempt or 0) >= MAX_RETRIES
            done, _ = await asyncio.wait(
                pending, timeout=GIVE_UP if last else self.ack_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if done or last:
                for future in pending:
                    if future not in done:
                        future.cancel()  # only the shield; a late ack is still recorded
                if not done:
                    self.events_unacknowledged += 1
                    return {}
                return next(iter(done)).result()
            self.event_retries += 1
            attempt = (attempt or 0) + 1

    def _echo_later(self, ws: Workspace, event: dict[str, Any]) -> None:
        """Slack sends the bot its own posts too; the app must drop them."""
        if not self.echo or (self._ws is None and not self.events_url):
            return
        body = event_callback(event, team=ws.team_id, bot_user=ws.bot_user_id)
        task = asyncio.get_running_loop().create_task(self._deliver_quietly(body))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _deliver_quietly(self, body: dict[str, Any]) -> None:
        with contextlib.suppress(TimeoutError, aiohttp.ClientError, ConnectionError):
            self.echo_results.append(await self.deliver_event(body))

    async def settle(self) -> None:
        """Wait for echoes in flight to be acknowledged."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def user_posts(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        ts: str | None = None,
        deliver: bool = True,
        event_id: str | None = None,
    ) -> str:
        """A person posts (stored in history; delivered as an event unless ``deliver=False``)."""
        ch = self.channels[channel]
        ts = ts or self._next_ts()
        event = message_event(channel, user, text, ts, thread_ts=thread_ts, team=ch.team, files=files)
        stored = {k: v for k, v in event.items() if k not in ("channel", "event_ts", "channel_type")}
        self._store(ch, stored)
        if deliver:
            ws = self.workspaces[ch.team]
            await self.deliver_event(event_callback(event, team=ch.team, bot_user=ws.bot_user_id, event_id=event_id))
        return ts

    async def user_edits(self, channel: str, ts: str, text: str) -> None:
        ch = self.channels[channel]
        message = self._find(ch, ts)
        previous = copy.deepcopy(message)
        message["text"] = text
        message["edited"] = {"user": message.get("user"), "ts": self._next_ts()}
        ws = self.workspaces[ch.team]
        event = message_changed(channel, message, previous, self._next_ts())
        await self.deliver_event(event_callback(event, team=ch.team, bot_user=ws.bot_user_id))

    async def user_deletes(self, channel: str, ts: str) -> None:
        ch = self.channels[channel]
        message = self._find(ch, ts)
        ch.messages.remove(message)
        ws = self.workspaces[ch.team]
        event = message_deleted(channel, message, self._next_ts())
        await self.deliver_event(event_callback(event, team=ch.team, bot_user=ws.bot_user_id))

    def response_url(self) -> tuple[str, str]:
        rid = uuid.uuid4().hex[:12]
        return rid, f"{self.url}/respond/{rid}"

    async def command(self, command: str, text: str, *, user: str, channel: str) -> tuple[str, Any]:
        """A person runs a slash command; returns (response id, the app's ack or HTTP answer)."""
        ch = self.channels[channel]
        rid, url = self.response_url()
        payload = slash_command(command, text, user=user, channel=channel, team=ch.team, response_url=url)
        if self.events_url:
            return rid, await self.post_http(self.events_url, payload, form=True)
        envelope_id = await self.push("slash_commands", payload)
        return rid, await self.wait_ack(envelope_id)

    async def shortcut(self, callback_id: str, channel: str, ts: str, *, user: str) -> tuple[str, Any]:
        """A person picks a message shortcut on message ``ts``."""
        ch = self.channels[channel]
        message = copy.deepcopy(self._find(ch, ts))
        rid, url = self.response_url()
        payload = message_shortcut(callback_id, message, user=user, channel=channel, team=ch.team, response_url=url)
        if self.events_url:
            return rid, await self.post_http(self.events_url, {"payload": json.dumps(payload)}, form=True)
        envelope_id = await self.push("interactive", payload)
        return rid, await self.wait_ack(envelope_id)

    def responses_for(self, rid: str) -> list[dict[str, Any]]:
        return [r for r in self.responses if r["rid"] == rid]


class _RateLimited(SlackError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("ratelimited", status=429)
        self.retry_after = retry_after


def _public_file(f: Mapping[str, Any], *, shares: bool = False) -> dict[str, Any]:
    """A file object as the API shows it (no bytes; ``shares`` only from files.info)."""
    hidden = {"data", "team", "length", "shares", "channels", "groups"}
    out = {k: copy.deepcopy(v) for k, v in f.items() if k not in hidden}
    out["size"] = len(f["data"]) if f.get("data") is not None else f.get("length")
    if shares:
        out["shares"] = copy.deepcopy(f.get("shares") or {})
        out["channels"] = list(f.get("channels") or [])
        out["groups"] = list(f.get("groups") or [])
    return out


def _json_param(value: Any) -> Any:
    """A JSON-valued Web API argument: form posts carry it as a string, JSON posts as-is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _checked_blocks(value: Any) -> list[dict[str, Any]]:
    """Blocks as Slack takes them, or the error Slack answers: too long, not a list of typed
    objects, or a rich_text text element without text (Slack refuses those too)."""
    if value is None or value == "":
        return []
    if isinstance(value, str) and len(value) > 13_000:
        raise SlackError("msg_blocks_too_long")
    blocks = _json_param(value)
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and b.get("type") for b in blocks):
        raise SlackError("invalid_blocks_format")
    if len(json.dumps(blocks)) > 13_000:
        raise SlackError("msg_blocks_too_long")

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and "elements" not in node and not node.get("text"):
                raise SlackError("invalid_blocks")
            for child in node.get("elements") or ():
                walk(child)

    for block in blocks:
        walk(block)
    return blocks


def _is_reply(message: Mapping[str, Any]) -> bool:
    return bool(message.get("thread_ts")) and message.get("thread_ts") != message.get("ts")


def message_event_for_bot(channel: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """The event Slack sends for the bot's own post."""
    event = {k: v for k, v in message.items() if k != "metadata"}
    event.update({"channel": channel, "event_ts": message["ts"], "channel_type": "channel"})
    if message.get("metadata"):
        event["metadata"] = message["metadata"]
    return event


# ------------------------------------------------------------- standalone


async def _serve(port: int, state: Path | None, channels: list[str]) -> None:
    fake = FakeSlack(state_path=state)
    for spec in channels:
        cid, _, name = spec.partition(":")
        fake.add_channel(cid, name or cid)
    await fake.start(port)
    print(json.dumps({"url": fake.url, "api_url": fake.api_url}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Slack (Web API + Socket Mode) on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", type=Path, default=None, help="JSON file rewritten on every record")
    parser.add_argument("--channel", action="append", default=[], help="ID:name, repeatable")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.state, args.channel))


if __name__ == "__main__":
    main()
