"""The Slack adapter: slack-bolt's AsyncApp in Socket Mode or HTTP mode.

Inbound, Bolt acknowledges every event at once and hands it to a listener
here, which drops duplicates (event ids in ``slack_events``) and queues the
message on its channel's queue, so a channel's messages, edits and deletes
reach the core in the order Slack sent them while one slow channel never holds
up another. Outbound, every call goes through one AsyncWebClient on the
configured ``api_url`` with no retry handlers: a 429 becomes a retriable
DeliveryError at once and the core's outbox decides when to try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks, markup
from adapters.slack.catchup import CatchUp
from adapters.slack.convert import COPY_EVENT_TYPE, Converted, Edit, Identity, NewMessage, Removal, convert_message
from adapters.slack.convert import copy_nonce as nonce_of
from adapters.slack.delivery import call
from adapters.slack.files import SlackFiles
from adapters.slack.inbox import Inbox
from adapters.slack.installations import DbInstallationStore, DbStateStore
from adapters.slack.interactions import Interactions
from adapters.slack.manifest import SHORTCUT_ID, required_scopes
from adapters.slack.names import Names
from adapters.slack.server import HttpServer
from adapters.slack.settings import PREFIX, Secrets, SlackSettings, read_secrets
from adapters.slack.socket import AckFirstSocketModeHandler
from adapters.slack.supervision import SocketWatch
from adapters.slack.tables import SlackTables
from adapters.slack.users import SlackUser, UserDirectory
from bot.errors import ConfigError, DeliveryError
from bot.events import (
    Attachment,
    Author,
    ChannelRef,
    Event,
    IncomingMessage,
    MessageDeleted,
    MessageEdited,
    MessageRef,
    OutgoingMessage,
)
from bot.ports import AdapterContext, Check, EventSink
from bot.richtext import LineBreak, RichText, Styled, neutralise, split
from bot.store.claims import process_owner
from bot.store.leases import as_database

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TEXT = 40_000
BLOCK_ERRORS = ("invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long")
FIND_SENT_PAGES = 5


class _SocketHandler(Protocol):
    """What is used of Bolt's (untyped) AsyncSocketModeHandler."""

    client: Any

    async def connect_async(self) -> None: ...

    async def close_async(self) -> None: ...


class SlackAdapter:
    """One Slack app (one workspace by bot token, or many through OAuth installs)."""

    platform = "slack"
    max_text = MAX_TEXT
    pace = 1.0

    def __init__(self, settings: SlackSettings, context: AdapterContext) -> None:
        self.settings = settings
        self.pace = settings.pace  # Slack allows about one message per second per channel
        self.context = context
        self.tables = SlackTables(context.db)
        self.users = UserDirectory(self._users_info)
        self.names = Names(self.users, self._conversations_info, self._usergroups_list)
        self.interactions = Interactions(self)
        self.http_port: int | None = None
        self.client: AsyncWebClient | None = None
        self.app: AsyncApp | None = None
        self._secrets = Secrets()
        self._session: aiohttp.ClientSession | None = None
        self._socket: _SocketHandler | None = None
        self._server: HttpServer | None = None
        self._installations: DbInstallationStore | None = None
        self._identities: dict[str, Identity] = {}
        self._scopes: dict[str, tuple[str, ...]] = {}
        self._queues: dict[tuple[str, str], asyncio.Queue[tuple[Converted, str | None]]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._ready = asyncio.Event()
        self._sink: EventSink | None = None
        self._single_team = ""
        self.files = SlackFiles(self)
        self.inbox = Inbox(as_database(context.db), process_owner())
        self._sweeper: asyncio.Task[None] | None = None
        self.watch = SocketWatch(
            context.connections.supervisor(self.platform), lambda: self._socket, self._reopen_socket, self._catch_up
        )

    # ------------------------------------------------------------- lifecycle

    async def start(self, sink: EventSink) -> None:
        """Connect, catch up on what was missed, then let live events through."""
        self._sink = sink
        self._secrets = read_secrets(self.settings, self.context.environ)
        if not self.settings.oauth and os.environ.get("SLACK_CLIENT_ID") and os.environ.get("SLACK_CLIENT_SECRET"):
            raise ConfigError(
                f"{PREFIX}: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set, which switches slack-bolt to OAuth; "
                'unset them, or use mode = "http" with oauth = true'
            )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        self.client = AsyncWebClient(
            token=self._secrets.bot_token or None,
            base_url=self.settings.base_url,
            session=self._session,
            timeout=max(1, int(self.settings.timeout)),
            retry_handlers=[],
        )
        try:
            if self._secrets.bot_token:
                identity = await self._auth_test(self._secrets.bot_token)
                self._single_team = identity[0]
            self.app = self._build_app()
            if self.settings.mode == "socket":
                self.inbox.create()
                self.watch.supervisor.connecting()
                await self._connect_socket()
            else:
                self._server = HttpServer(self.app, self.settings, self._secrets.signing_secret)
                self.http_port = await self._server.start()
            try:
                await CatchUp(self).run()
            except Exception:  # best effort: a failed catch-up must not keep Slack offline
                log.exception("slack: catch-up failed; relaying live messages only")
        except BaseException:
            await self.stop()
            raise
        self._ready.set()
        if self.settings.mode == "socket":
            self.watch.start()
            self._sweeper = asyncio.create_task(self._sweep_inbox(), name="slack inbox")

    async def _catch_up(self) -> int:
        return await CatchUp(self).run()

    async def _reopen_socket(self) -> None:
        """One reconnect attempt: a fresh Socket Mode handler, or the reason it cannot be opened."""
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()
            self._socket = None
        await asyncio.wait_for(self._connect_socket(), self.settings.timeout)
        if not await self.watch.connected():
            raise DeliveryError("slack: the new Socket Mode connection closed at once", retriable=True)

    async def stop(self) -> None:
        """Disconnect and drop queued work; the core's outbox keeps what was not delivered."""
        self._ready.clear()
        await self.watch.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        self._queues.clear()
        await self.interactions.close()
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        self.client = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _build_app(self) -> AsyncApp:
        assert self.client is not None
        kwargs: dict[str, Any] = {
            "client": self.client,
            "signing_secret": self._secrets.signing_secret,
            "request_verification_enabled": self.settings.mode == "http",
            "raise_error_for_unhandled_request": False,
        }
        if self.settings.oauth:
            store = DbInstallationStore(self.context.db, self._secrets.client_id)
            self._installations = store
            kwargs["oauth_settings"] = AsyncOAuthSettings(
                client_id=self._secrets.client_id,
                client_secret=self._secrets.client_secret,
                scopes=list(required_scopes()),
                installation_store=store,
                installation_store_bot_only=True,
                state_store=DbStateStore(self.context.db),
                install_path=self.settings.install_path,
                redirect_uri_path=self.settings.redirect_path,
                redirect_uri=self.settings.redirect_uri or None,
                authorization_url=self.settings.oauth_authorize_url,
            )
            kwargs["installation_store_bot_only"] = True
            kwargs["authorize"] = AsyncInstallationStoreAuthorize(
                logger=log,
                installation_store=store,
                client_id=self._secrets.client_id,
                client_secret=self._secrets.client_secret,
                bot_only=True,
                cache_enabled=True,
                client=self.client,
            )
        app = AsyncApp(**kwargs)
        app.event("message")(self._on_message_event)
        app.command("/ask")(self.interactions.on_command)
        app.command("/agora")(self.interactions.on_command)
        app.shortcut(SHORTCUT_ID)(self.interactions.on_translate)
        # Anything else (reactions, joins, app mentions, buttons, ...) is acknowledged and ignored:
        # without a listener Bolt logs a warning and answers 404, Slack retries, Socket Mode never acks.
        app.event(re.compile(".*"))(_ignore)
        for kind in (app.action, app.shortcut, app.view, app.options):
            kind(re.compile(".*"))(_ack_only)
        return app

    async def _connect_socket(self) -> None:
        assert self.app is not None and self.client is not None
        client = self.client
        # The handler retries forever on a bad app token; ask once so a typo fails start().
        try:
            await call("apps.connections.open", lambda: client.apps_connections_open(app_token=self._secrets.app_token))
        except DeliveryError as exc:
            if exc.retriable:
                raise
            raise ConfigError(f"{PREFIX}: Slack refused {self.settings.app_token_env}: {exc.reason}") from exc
        keeping = AckFirstSocketModeHandler(self.app, self._secrets.app_token, web_client=self.client)
        keeping.keep = self._keep
        handler: _SocketHandler = keeping
        self._socket = handler
        await handler.connect_async()

    async def _auth_test(self, token: str) -> tuple[str, Identity]:
        """Who the token is; remembers its identity and granted scopes per team."""
        client = self._api()
        try:
            resp = await call("auth.test", lambda: client.auth_test(token=token))
        except DeliveryError as exc:
            if exc.retriable:
                raise
            raise ConfigError(f"{PREFIX}: Slack refused the bot token: {exc.reason}") from exc
        team = str(resp.get("team_id") or "")
        identity = Identity(bot_id=str(resp.get("bot_id") or ""), bot_user_id=str(resp.get("user_id") or ""))
        self._identities[team] = identity
        scopes = resp.headers.get("x-oauth-scopes") if resp.headers else None
        if isinstance(scopes, str):
            self._scopes[team] = tuple(s.strip() for s in scopes.split(",") if s.strip())
        return team, identity

    # ---------------------------------------------------------- workspaces

    def _api(self) -> AsyncWebClient:
        if self.client is None:
            raise DeliveryError("slack: adapter not started", retriable=True)
        return self.client

    async def token(self, team: str) -> str:
        """The bot token for a workspace: the one token, or its OAuth installation's."""
        if self._secrets.bot_token:
            return self._secrets.bot_token
        if self._installations is not None:
            bot = await self._installations.async_find_bot(enterprise_id=None, team_id=team)
            if bot is not None and bot.bot_token:
                if team not in self._identities:
                    self._identities[team] = Identity(bot.bot_id or "", bot.bot_user_id or "")
                return str(bot.bot_token)
        raise DeliveryError(f"slack: Agora is not installed in workspace {team}", retriable=False)

    async def identity(self, team: str) -> Identity:
        """The bot's ids in a workspace, to recognise its own posts in history."""
        if team in self._identities:
            return self._identities[team]
        if self._secrets.bot_token and self._single_team:
            return self._identities[self._single_team]
        await self.token(team)
        return self._identities.get(team, Identity())

    async def api(self, action: str, team: str, fn: Callable[[AsyncWebClient, str], Awaitable[T]]) -> T:
        """One Web API call as the workspace's bot; failures become DeliveryError."""
        client = self._api()
        token = await self.token(team)
        return await call(action, lambda: fn(client, token))

    async def paged(
        self,
        action: str,
        team: str,
        fetch: Callable[[AsyncWebClient, str, str | None], Awaitable[Any]],
        max_pages: int,
    ) -> list[dict[str, Any]]:
        """The ``messages`` of up to ``max_pages`` cursor pages (history and replies are paged alike)."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(max_pages):
            resp = await self.api(action, team, functools.partial(_with_cursor, fetch, cursor))
            out.extend(m for m in resp.get("messages") or () if isinstance(m, dict) and "ts" in m)
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return out

    async def _users_info(self, team: str, user_id: str) -> Mapping[str, Any]:
        resp = await self.api("users.info", team, lambda c, t: c.users_info(user=user_id, include_locale=True, token=t))
        user = resp.get("user")
        if not isinstance(user, Mapping):
            raise DeliveryError("slack users.info: no user in answer", retriable=False)
        return user

    async def _conversations_info(self, team: str, channel: str) -> Mapping[str, Any]:
        resp = await self.api("conversations.info", team, lambda c, t: c.conversations_info(channel=channel, token=t))
        info = resp.get("channel")
        if not isinstance(info, Mapping):
            raise DeliveryError("slack conversations.info: no channel in answer", retriable=False)
        return info

    async def _usergroups_list(self, team: str) -> list[Mapping[str, Any]]:
        resp = await self.api("usergroups.list", team, lambda c, t: c.usergroups_list(token=t))
        return [g for g in resp.get("usergroups") or () if isinstance(g, Mapping)]

    async def channel_creator(self, team: str, channel: str) -> str | None:
        """Who created a channel (Slack's nearest thing to a channel manager), cached."""
        info = await self.names.channel(team, channel)
        if info is None or not info.creator:
            return None
        return info.creator

    # ---------------------------------------------------------------- inbound

    async def _on_message_event(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        """Bolt listener for every ``message`` event (already acknowledged)."""
        team = str(context.team_id or body.get("team_id") or "")
        own = Identity(str(context.bot_id or ""), str(context.bot_user_id or ""))
        if team and team not in self._identities and (own.bot_id or own.bot_user_id):
            self._identities[team] = own
        self._take(team, body, event, own)

    def _take(self, team: str, body: Mapping[str, Any], event: Mapping[str, Any], own: Identity) -> None:
        """Queue one message event for its channel's worker, unless it is a duplicate or not relayed."""
        channel = event.get("channel")
        event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
        if not team or not isinstance(channel, str):
            self._finished(event_id)
            return
        if event_id is not None and self.tables.seen_key(f"ev:{event_id}"):
            log.debug("slack: duplicate event %s dropped", event_id)
            self._finished(event_id)
            return
        record = convert_message(dict(event), channel, own=own, relay_bots=self.settings.relay_bots)
        if record is None:
            self._finished(event_id)
            return
        self._enqueue(team, record, event_id)

    def _keep(self, payload: dict[str, Any]) -> None:
        """Before an envelope is acknowledged: hold its message event in the inbox (inbox.py)."""
        event = payload.get("event")
        event_id = payload.get("event_id")
        if payload.get("type") != "event_callback" or not isinstance(event, Mapping) or not isinstance(event_id, str):
            return
        if event.get("type") == "message":
            self.inbox.keep(event_id, str(payload.get("team_id") or ""), payload)

    def _finished(self, event_id: str | None) -> None:
        """The core has the event, or never needed it: it leaves the inbox."""
        if event_id is None or self.settings.mode != "socket":
            return
        try:
            self.inbox.done(event_id)
        except Exception:  # a leftover row is taken over later and dropped as a duplicate
            log.exception("slack: could not clear event %s from the inbox", event_id)

    async def _sweep_inbox(self) -> None:
        """Finish the events other replicas acknowledged but never handed to the core (inbox.py)."""
        while True:
            try:
                kept = self.inbox.take_over(self.settings.inbox_stale_seconds)
                if kept:
                    log.info("slack: finishing %d events another replica acknowledged but did not relay", len(kept))
                for item in kept:
                    event = item.body.get("event")
                    own = await self.identity(item.team)
                    self._take(item.team, item.body, event if isinstance(event, Mapping) else {}, own)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("slack: could not look for events left in the inbox")
            await asyncio.sleep(self.settings.inbox_stale_seconds / 3)

    def _enqueue(self, team: str, record: Converted, event_id: str | None) -> None:
        key = (team, record.channel)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._workers[key] = asyncio.create_task(self._work(team, queue), name=f"slack:{team}/{record.channel}")
        queue.put_nowait((record, event_id))

    async def _work(self, team: str, queue: asyncio.Queue[tuple[Converted, str | None]]) -> None:
        await self._ready.wait()
        while True:
            record, event_id = await queue.get()
            try:
                await self.deliver(team, record, event_id)
            except Exception:  # a worker must outlive one bad message (a locked database, a bug)
                log.exception("slack: could not deliver %s %s in %s", type(record).__name__, record.ts, record.channel)
                continue  # it stays in the inbox: taken over again later, a few times at most
            self._finished(event_id)

    async def deliver(self, team: str, record: Converted, event_id: str | None) -> bool:
        """Hand one converted message to the core; False when it was a duplicate.

        Its dedupe keys are written only once the core has it: a replica killed in between
        leaves no key behind, so Slack's retry (which may reach another replica) or a
        catch-up still relays the event. The core's own dedupe, in the transaction that
        stores the message, settles two replicas handling the same event at once.
        """
        ref = ChannelRef(self.platform, team, record.channel)
        keys = [f"ev:{event_id}"] if event_id else []
        if any(self.tables.seen_key(key) for key in keys):
            return False  # a redelivery queued behind the first copy
        event: Event
        if isinstance(record, NewMessage):
            keys.append(f"msg:{team}:{record.channel}:{record.ts}")
            if self.tables.seen_key(keys[-1]):
                return False
            author, locale = await self._author(team, record)
            event = IncomingMessage(
                channel=ref,
                id=record.ts,
                author=author,
                text=await self.names.label(team, record.text),
                thread_id=record.thread_ts,
                event_id=event_id,
                attachments=record.attachments,
                locale=locale,
            )
        elif isinstance(record, Edit):
            event = MessageEdited(ref, record.ts, await self.names.label(team, record.text), event_id)
        elif isinstance(record, Removal):
            event = MessageDeleted(ref, record.ts, event_id)
        await self.emit(event)
        for key in keys:
            self.tables.first_time(key)
        if isinstance(record, NewMessage):
            self.tables.mark_seen(team, record.channel, record.ts)
            # every post may become a thread root; catch-up looks for replies in the recent ones
            self.tables.touch_thread(team, record.channel, record.thread_ts or record.ts, record.ts)
        return True

    async def emit(self, event: Event) -> bool:
        """Await the core's sink; its failures are logged here so one bad event cannot stop a channel."""
        if self._sink is None:
            return False
        try:
            await self._sink(event)
        except Exception:
            log.exception("slack: the core failed on %s in %s", type(event).__name__, getattr(event, "channel", "?"))
            return False
        return True

    async def _author(self, team: str, record: NewMessage) -> tuple[Author, str | None]:
        fallback = Author(record.user_id, record.fallback_name, record.fallback_avatar, is_bot=record.is_bot)
        if record.is_bot or not record.user_id:
            return fallback, None
        user = await self.users.get(team, record.user_id)
        if user is None:
            return fallback, None
        return author_of(user, record.fallback_avatar), user.locale

    # --------------------------------------------------------------- outbound

    def render(self, text: RichText) -> str:
        """Slack mrkdwn for rich text (the core measures parts with it)."""
        return markup.render(text)

    def compose(self, text: RichText, footer: RichText = ()) -> str:
        """A copy's mrkdwn text: nobody pinged, the footer on its own italic line."""
        return markup.render(self._copy_text(text, footer))

    def compose_blocks(self, text: RichText, footer: RichText = ()) -> list[dict[str, Any]]:
        """The same copy as a rich_text block, so Slack shows exactly the source's styles
        (mrkdwn cannot say everything blocks can: styles inside words, spaces inside a span)."""
        return blocks.render(self._copy_text(text, footer))

    def _copy_text(self, text: RichText, footer: RichText) -> RichText:
        body = neutralise(text)
        if footer:
            body = (*body, LineBreak(), Styled("italic", neutralise(footer), "_"))
        return body

    def parts(self, text: RichText) -> list[str]:
        """Rendered pieces within Slack's limit, for replies the core did not split."""
        pieces = split(text, self.max_text, lambda rt: len(markup.render(rt)))
        return [markup.render(p) for p in pieces] or [""]

    async def send(self, msg: OutgoingMessage) -> MessageRef:
        """Post a copy as its author, in its thread, stamped with the nonce for find_sent."""
        team, channel = msg.channel.space, msg.channel.channel
        text = self.compose(msg.text, msg.footer)
        if msg.files:  # uploaded with the text as its comment (files.py)
            return await self.files.send(msg, text)
        if not text.strip():
            if msg.image is None:
                raise DeliveryError("slack chat.postMessage: empty message", retriable=False)
            text = markup.escape(msg.image_name or "image")
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "metadata": {"event_type": COPY_EVENT_TYPE, "event_payload": {"nonce": msg.nonce}},
            "unfurl_links": False,
            "unfurl_media": False,
        }
        rich = self.compose_blocks(msg.text, msg.footer)
        if rich:
            kwargs["blocks"] = rich
        if msg.thread_id:
            kwargs["thread_ts"] = msg.thread_id
        if msg.author is not None:
            kwargs["username"] = msg.author.name[:80] or "?"
            if msg.author.avatar_url:
                kwargs["icon_url"] = msg.author.avatar_url
        try:
            resp = await self.api("chat.postMessage", team, lambda c, t: c.chat_postMessage(token=t, **kwargs))
        except DeliveryError as exc:
            if "blocks" not in kwargs or not exc.reason.endswith(BLOCK_ERRORS):
                raise
            # Slack would not take the blocks: the mrkdwn text alone still says nearly everything.
            log.warning("slack: blocks refused in %s (%s); posting the text alone", channel, exc.reason)
            del kwargs["blocks"]
            resp = await self.api("chat.postMessage", team, lambda c, t: c.chat_postMessage(token=t, **kwargs))
        ts = str(resp["ts"])
        thread = msg.thread_id or (ts if msg.starts_thread else None)
        if thread:
            self.tables.touch_thread(team, channel, thread, ts)
        if msg.image is not None:
            try:
                await self.upload(team, channel, msg.image, msg.image_name or "image.png", thread_ts=msg.thread_id)
            except DeliveryError as exc:  # the text is out; re-sending it would duplicate it
                log.warning("slack: image for %s in %s not uploaded: %s", msg.nonce, msg.channel, exc.reason)
        return MessageRef(msg.channel, ts, thread)

    async def edit(self, ref: MessageRef, msg: OutgoingMessage) -> None:
        plain_text = self.compose(msg.text, msg.footer)
        text = self.files.edited_text(ref, msg, plain_text)  # files stay as they are
        # An ordinary copy gets its blocks again (an empty list removes blocks an earlier version had);
        # an uploaded copy keeps mrkdwn alone, as its upload had, with its author's name in front.
        rich = self.compose_blocks(msg.text, msg.footer) if text == plain_text else []

        async def update(rich_blocks: list[dict[str, Any]]) -> None:
            await self.api(
                "chat.update",
                ref.channel.space,
                lambda c, t: c.chat_update(
                    token=t,
                    channel=ref.channel.channel,
                    ts=ref.id,
                    text=text,
                    blocks=rich_blocks,
                    metadata={"event_type": COPY_EVENT_TYPE, "event_payload": {"nonce": msg.nonce}},
                ),
            )

        try:
            await update(rich)
        except DeliveryError as exc:
            if not rich or not exc.reason.endswith(BLOCK_ERRORS):
                raise
            log.warning("slack: blocks refused in %s (%s); updating the text alone", ref.channel, exc.reason)
            await update([])

    async def delete(self, ref: MessageRef) -> None:
        try:
            await self.api(
                "chat.delete",
                ref.channel.space,
                lambda c, t: c.chat_delete(token=t, channel=ref.channel.channel, ts=ref.id),
            )
        except DeliveryError as exc:
            if not exc.reason.endswith("message_not_found"):
                raise
        await self.files.delete_files(ref)  # already gone or just deleted: its uploads go too

    async def upload(
        self, team: str, channel: str | None, data: bytes, name: str, *, thread_ts: str | None = None
    ) -> str:
        """Upload a file (files.getUploadURLExternal + completeUploadExternal); returns its file id.

        Without a channel the file stays private to the app, for image blocks in ephemeral replies.
        """
        resp = await self.api(
            "files.upload",
            team,
            lambda c, t: c.files_upload_v2(
                token=t, channel=channel, file=data, filename=name, title=name, thread_ts=thread_ts
            ),
        )
        file = resp.get("file") or {}
        return str(file.get("id") or "")

    async def find_sent(self, msg: OutgoingMessage) -> MessageRef | None:
        """Look for a copy stamped with ``msg.nonce`` among the channel's or thread's latest posts."""
        if msg.files:  # an uploaded copy carries no metadata: found through its file (files.py)
            return await self.files.find_sent(msg)
        team, channel = msg.channel.space, msg.channel.channel
        if msg.thread_id:
            thread_id = msg.thread_id
            replies = await self.paged(
                "conversations.replies",
                team,
                lambda c, t, cursor: c.conversations_replies(
                    token=t, channel=channel, ts=thread_id, limit=200, include_all_metadata=True, cursor=cursor
                ),
                FIND_SENT_PAGES,
            )
            for m in replies:
                if nonce_of(m) == msg.nonce:
                    return MessageRef(msg.channel, str(m["ts"]), thread_id)
            return None
        resp = await self.api(
            "conversations.history",
            team,
            lambda c, t: c.conversations_history(token=t, channel=channel, limit=100, include_all_metadata=True),
        )
        for m in resp.get("messages") or ():
            if nonce_of(m) == msg.nonce:
                ts = str(m["ts"])
                return MessageRef(msg.channel, ts, ts if msg.starts_thread else None)
        return None

    async def fetch(self, attachment: Attachment, channel: ChannelRef) -> bytes:
        """A shared file's bytes, with the workspace's bot token (FileTransfer; files.py)."""
        return await self.files.fetch(attachment, channel)

    def upload_limit(self, channel: ChannelRef) -> int:
        """``max_file_mb`` in bytes (FileTransfer)."""
        return self.files.upload_limit(channel)

    # ----------------------------------------------------------------- doctor

    def checks(self) -> list[Check]:
        """What ``agora doctor`` shows; no network calls (the last auth.test answer is reused)."""
        checks: list[Check] = []
        try:
            secrets = read_secrets(self.settings, self.context.environ)
        except ConfigError as exc:
            return [Check("slack tokens", False, str(exc), fix="see README, Slack: tokens")]
        names = {
            "socket": f"{self.settings.bot_token_env}, {self.settings.app_token_env}",
            "http": f"{self.settings.signing_secret_env}, "
            + (
                f"{self.settings.client_id_env}, {self.settings.client_secret_env}"
                if self.settings.oauth
                else self.settings.bot_token_env
            ),
        }
        checks.append(Check("slack tokens", True, f"{self.settings.mode} mode: {names[self.settings.mode]} set"))
        if secrets.bot_token and not secrets.bot_token.startswith("xoxb-"):
            checks.append(
                Check("slack bot token", False, "does not start with xoxb-", fix="use the Bot User OAuth Token")
            )
        if secrets.app_token and not secrets.app_token.startswith("xapp-"):
            checks.append(
                Check(
                    "slack app token",
                    False,
                    "does not start with xapp-",
                    fix="create an app-level token with connections:write",
                )
            )
        needed = set(required_scopes())
        for team, granted in sorted(self._scopes.items()):
            missing = sorted(needed - set(granted))
            checks.append(
                Check(
                    f"slack scopes ({team})",
                    not missing,
                    "all granted" if not missing else "missing: " + ", ".join(missing),
                    fix="" if not missing else "add the scopes (agora slack manifest) and reinstall the app",
                )
            )
        if self.settings.oauth:
            store = self._installations or DbInstallationStore(self.context.db, secrets.client_id)
            teams = store.teams()
            checks.append(
                Check(
                    "slack installs",
                    bool(teams),
                    f"{len(teams)} workspace(s)" if teams else "no workspace has installed Agora yet",
                    fix="" if teams else f"open {self.settings.install_path} on Agora's public URL",
                )
            )
        return checks


def _with_cursor(
    fetch: Callable[[AsyncWebClient, str, str | None], Awaitable[Any]],
    cursor: str | None,
    client: AsyncWebClient,
    token: str,
) -> Awaitable[Any]:
    return fetch(client, token, cursor)


async def _ignore() -> None:
    """The listener for events Agora does not use (Bolt acknowledges them)."""


async def _ack_only(ack: AsyncAck) -> None:
    """The listener for interactions Agora does not offer: acknowledged, nothing else."""
    await ack()


def author_of(user: SlackUser, fallback_avatar: str | None = None) -> Author:
    """A Slack user as the core's Author."""
    return Author(user.id, user.name, user.avatar_url or fallback_avatar, is_bot=user.is_bot)
