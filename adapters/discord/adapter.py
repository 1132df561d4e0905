"""The Discord adapter: a discord.py client feeding the core, webhooks and threads carrying copies.

Events in: messages, edits and deletes in guild text channels and their
threads; slash commands and the "Translate for me" message command are
registered and answered in interactions.py. Messages of one channel reach the
sink in the order the gateway sent them (a lock per channel, taken before the
first await), so replies are not relayed ahead of the question they answer.
Agora's own posts (its bot user, its webhooks, its interaction answers) never
come back in.

Posts out: one webhook per channel, under the author's name and avatar, pinging
nobody; a question copy becomes the root of a thread; answers go into it. A
429 or an outage surfaces at once as a retriable DeliveryError, so the outbox
reschedules that channel's row while the other channels keep flowing; nothing
here waits on a global lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

import aiohttp
import discord

from adapters.discord import endpoints
from adapters.discord.catchup import CatchUp
from adapters.discord.convert import (
    RELAYED_TYPES,
    Where,
    attachments_of,
    author_of,
    cache_lookup,
    channel_ref,
    is_bot_post,
    reply_root,
    text_of,
    thread_parent,
)
from adapters.discord.files import DiscordFiles
from adapters.discord.guard import FILLED, guard_parsers
from adapters.discord.interactions import Interactions
from adapters.discord.markup import render
from adapters.discord.names import thread_name, webhook_username
from adapters.discord.settings import DISCORD_GATEWAY, TOKEN_ENV, Settings
from adapters.discord.tables import SentPost, Tables
from adapters.discord.transport import delivery_error, webhook_session
from adapters.discord.webhooks import Webhooks
from bot.errors import AgoraError, ConfigError, DeliveryError
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
from bot.leadership import Leadership
from bot.ports import AdapterContext, Check, EventSink
from bot.richtext import RichText, plain, to_plain
from bot.store.claims import process_owner
from bot.store.leases import Leases, as_database

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
FIND_SENT_LOOKBACK = 25
CATCH_UP_CHANNELS_AT_ONCE = 4
SENT_KEPT_SECONDS = 14 * 24 * 3600
SEEN_NAMES = 5000
CAUGHT_UP_REMEMBERED = 2000  # ids handed over by catch-up, so the same message arriving live is not handed twice
SHARD = 0  # Agora runs one gateway session per bot token (shard 0 of 1)


class _Client(discord.Client):
    """A discord.Client whose events go to the adapter."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = adapter

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:  # Discord allows one IDENTIFY per 5 s; discord.py's own hook always waits 5 s
            await asyncio.sleep(self.adapter.settings.reidentify_delay)

    async def on_ready(self) -> None:
        await self.adapter.on_ready()

    async def on_resumed(self) -> None:
        self.adapter.on_resumed()

    async def on_disconnect(self) -> None:
        self.adapter.on_disconnect()

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.adapter.on_edit(payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.adapter.on_delete(payload.guild_id, payload.channel_id, [payload.message_id], payload.cached_message)

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.adapter.on_delete(payload.guild_id, payload.channel_id, sorted(payload.message_ids), None)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.adapter.on_guild_join(guild)


class DiscordAdapter:
    """Agora on Discord (see the module docstring)."""

    platform = "discord"
    max_text = 2000
    pace = 0.25

    def __init__(self, settings: Settings, context: AdapterContext) -> None:
        self.settings = settings
        self.pace = settings.pace
        self.context = context
        self.tables = Tables(context.db)
        self.client: _Client | None = None
        self.webhooks: Webhooks | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sink: EventSink | None = None
        self._connection: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._locks: dict[str, asyncio.Lock] = {}
        self._linked: dict[str, str] = {}
        self._thread_parents: dict[int, int] = {}
        self._deleted_by_us: deque[int] = deque(maxlen=500)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._catchup: CatchUp | None = None
        self._endpoints_installed = False
        self.files = DiscordFiles(self)
        self.interactions = Interactions(self)
        self._supervisor = context.connections.supervisor(self.platform)
        self._token = ""
        self._up = asyncio.Event()  # the gateway session is live (READY or RESUMED, not since disconnected)
        self._stopping = False
        self._reopening = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._gap = False  # the connection crashed: catch up even if the session resumes
        self._seen_names: dict[int, str] = {}
        self._caught_up: dict[int, None] = {}  # insertion-ordered, bounded by CAUGHT_UP_REMEMBERED
        self._mentioned_channels: dict[int, str] = {}  # names crossposts give for other servers' channels
        self._leadership: Leadership | None = None  # the gateway lease among replicas
        self._gateway_wanted = False  # this replica holds the gateway lease: keep the session open

    # ------------------------------------------------------------ lifecycle

    async def start(self, sink: EventSink) -> None:
        """Log in (REST, enough to deliver); then, if elected, connect the gateway, register commands and
        catch up, returning once events flow; else stand by for the replica that holds the gateway."""
        token = self.context.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise ConfigError(f"{TOKEN_ENV}: not set; the Discord adapter needs the bot token (developer portal)")
        self._sink = sink
        self._token = token
        self._stopping = False
        self._supervisor.connecting()
        endpoints.install(self.settings.api_base, self.settings.gateway_url or DISCORD_GATEWAY, self.settings.cdn_url)
        self._endpoints_installed = True
        try:
            client = self._build_client()
            self._session = webhook_session(self.settings.request_timeout)
            self.webhooks = Webhooks(client, self.tables, self._session, self.settings.webhook_name)
            self._catchup = CatchUp(client, self.tables, self.settings.catchup_hours, self.settings.catchup_limit)
            self.tables.prune_sent(discord.utils.utcnow().timestamp() - SENT_KEPT_SECONDS)
            await self._login(client, token)
            leadership = self._leadership = Leadership(
                Leases(as_database(self.context.db), process_owner()),
                self._lease_name(client),
                self.settings.gateway_lease,
                self._take_over,
                self._stand_down,
            )
            if leadership.claim(dead_local_holders=True):
                await self._go_live(client)
            else:
                log.info("discord: replica %s holds the gateway; this one delivers and stands by", leadership.holder)
                self._supervisor.standby()
            leadership.start()
        except BaseException:
            await self.stop()
            raise

    def _lease_name(self, client: _Client) -> str:
        """One gateway lease per bot (and shard): replicas of different bots never contend."""
        bot = client.user.id if client.user is not None else client.application_id
        return f"discord-gateway:{bot}:{SHARD}"

    async def _go_live(self, client: _Client) -> None:
        """Open the gateway session, register commands, then catch up; live messages of each linked
        channel wait until that channel has caught up."""
        self._gateway_wanted = True
        self._ready = asyncio.Event()
        self.refresh_linked()
        held: list[asyncio.Lock] = []
        try:
            for channel_id in self._linked:
                lock = self._lock(channel_id)
                await lock.acquire()
                held.append(lock)
            await self._open_gateway(client)
            try:
                await self.interactions.sync(client)
            except Exception:  # relaying does not need the commands
                log.exception("could not register Agora's discord commands; relaying goes on without them")
            await self._catch_up(held)
        except BaseException:
            for lock in held:
                if lock.locked():
                    lock.release()
            self._gateway_wanted = False
            raise

    async def _take_over(self) -> None:
        """Elected after the holder's lease lapsed or was released: connect and catch up on the gap."""
        client = self.client
        if client is None or self._stopping:
            raise AgoraError("the Discord adapter is stopping")
        log.info("discord: took over the gateway")
        self._supervisor.connecting()
        try:
            await self._go_live(client)
        except BaseException:
            await self._close_gateway()
            self._supervisor.standby()
            raise

    async def _stand_down(self) -> None:
        """The lease went to another replica (this one could not renew it in time): close the gateway
        now, so two sessions never relay at once; delivery goes on over REST."""
        await self._close_gateway()
        self._supervisor.standby()

    async def _close_gateway(self) -> None:
        """End this replica's gateway session (its client stays logged in for REST and webhooks)."""
        self._gateway_wanted = False
        self._up.clear()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await connection
        client = self.client
        if client is not None and client.ws is not None:
            with contextlib.suppress(Exception):
                await client.ws.close(code=1000)  # 1000 ends the session: the next holder identifies afresh

    def _build_client(self) -> _Client:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True
        client = _Client(
            self,
            intents=intents,
            guild_ready_timeout=self.settings.guild_ready_timeout,
            max_ratelimit_timeout=30.0,
            allowed_mentions=NO_PINGS,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
        )
        # discord.py raises the constructor's value to at least 30 s; a wait longer than max_ratelimit_wait
        # must instead come back as RateLimited, so the outbox reschedules the row (see transport.py).
        client.http.max_ratelimit_timeout = self.settings.max_ratelimit_wait
        guard_parsers(client._connection.parsers, self._mentioned_channels)  # one bad event must not end it
        self.interactions.build(client)
        self.client = client
        return client

    async def _login(self, client: _Client, token: str) -> None:
        """REST only: enough to post through webhooks, open threads and read history, without a gateway."""
        await self.interactions.set_translator()
        try:
            await client.login(token)
        except discord.LoginFailure as exc:
            raise ConfigError(f"{TOKEN_ENV}: Discord rejected the bot token") from exc
        if self.settings.custom_endpoints and self.settings.gateway_url is None:
            _, url, _ = await client.http.get_bot_gateway()
            endpoints.set_gateway(url)

    async def _open_gateway(self, client: _Client) -> None:
        """Start the gateway connection and wait until its session is live (or say why not)."""
        self._up.clear()
        connection = asyncio.create_task(client.connect(reconnect=True), name="discord gateway")
        self._connection = connection
        connection.add_done_callback(self._connection_ended)
        up = asyncio.create_task(self._up.wait())
        done, _ = await asyncio.wait(
            {up, connection}, timeout=self.settings.connect_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        up.cancel()
        if connection in done:
            ended = None if connection.cancelled() else connection.exception()
            if isinstance(ended, discord.PrivilegedIntentsRequired):
                raise ConfigError(
                    "adapters.discord: enable the Message Content intent for the bot in the "
                    "Discord developer portal (Bot > Privileged Gateway Intents)"
                ) from ended
            raise AgoraError(f"Discord gateway connection ended: {ended!r}") from ended
        if not done:
            connection.cancel()
            raise AgoraError(f"Discord gateway not ready after {self.settings.connect_timeout:.0f}s")

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        """The gateway task ended although nobody asked: never run deaf, reconnect and catch up."""
        if task.cancelled() or self._stopping or self._reopening or not self._ready.is_set():
            return
        if not self._gateway_wanted:
            return  # closed on purpose: another replica holds the gateway
        ended = task.exception()
        log.error("Discord gateway connection ended; reconnecting", exc_info=ended)
        self._up.clear()
        self._gap = True
        self._supervisor.disconnected(ended or "the gateway connection closed")
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._supervisor.reconnect(self._reopen), name="discord reconnect")

    async def _reopen(self) -> None:
        """One reconnect attempt: a fresh gateway session (its READY runs catch-up, see on_ready)."""
        client = self.client
        if client is None:
            raise AgoraError("the Discord adapter was stopped")
        if not self._gateway_wanted:
            return  # another replica holds the gateway now
        self._reopening = True
        try:
            if client.ws is not None:  # the loop that raised left its websocket open
                with contextlib.suppress(Exception):
                    await client.ws.close(code=4000)
            if client.is_closed():  # discord.py closed the client (a close code it does not resume)
                await client.close()  # let its closing finish; a closed discord.py client cannot log in again
                client = self._build_client()
                assert self._session is not None
                self.webhooks = Webhooks(client, self.tables, self._session, self.settings.webhook_name)
                self._catchup = CatchUp(client, self.tables, self.settings.catchup_hours, self.settings.catchup_limit)
                await self._login(client, self._token)
                await self._open_gateway(client)
                return
            await self._open_gateway(client)
        finally:
            self._reopening = False

    async def stop(self) -> None:
        """Disconnect, then release the gateway lease; pending posts stay in the outbox for next time."""
        self._stopping = True
        if self._leadership is not None:
            await self._leadership.stop()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        for task in list(self._tasks):
            task.cancel()
        if self.client is not None and not self.client.is_closed():
            await self.client.close()
        if self._connection is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):  # its failure was reported when it happened
                await self._connection
            self._connection = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._endpoints_installed:
            endpoints.release()
            self._endpoints_installed = False
        self._ready = asyncio.Event()
        self._gateway_wanted = False
        if self._leadership is not None:  # the gateway is closed: let a standby take it over now
            self._leadership.resign()
            self._leadership = None

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("discord task %s failed", task.get_name(), exc_info=task.exception())

    def _lock(self, channel_id: str) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    def refresh_linked(self) -> None:
        self._linked = {ch.ref.channel: ch.ref.space for ch in self.context.channels(self.platform)}

    # ------------------------------------------------------------ gateway events

    async def on_ready(self) -> None:
        self._up.set()
        self._supervisor.connected()
        if not self._ready.is_set():
            self._ready.set()
            return
        # A fresh session after the old one ended or could not be resumed: events in between were lost.
        self._gap = False
        self._spawn(self._catch_up([]), "discord catch-up")

    def on_resumed(self) -> None:
        """The session went on where it stopped: Discord replays what was missed (unless it crashed)."""
        self._up.set()
        self._supervisor.connected()
        if self._gap:
            self._gap = False
            self._spawn(self._catch_up([]), "discord catch-up")

    def on_disconnect(self) -> None:
        if self._stopping or not self._gateway_wanted:
            return
        self._up.clear()
        status = self._supervisor.status
        if status is None or status.state == "connected":  # keep a more telling reason already reported
            self._supervisor.disconnected("gateway connection lost; discord.py is reconnecting")

    async def on_guild_join(self, guild: discord.Guild) -> None:
        if self.settings.sync == "guild" and not self.settings.guild_ids:
            self._spawn(self.interactions.sync_guild(guild.id), f"discord sync {guild.id}")

    def _is_own(self, message: discord.Message) -> bool:
        client = self.client
        if client is None:
            return False
        if client.user is not None and message.author.id == client.user.id:
            return True
        hook = message.webhook_id
        return hook is not None and (
            hook == client.application_id or (self.webhooks is not None and self.webhooks.is_ours(hook))
        )

    def _where_cached(self, guild_id: int, channel: object) -> Where | None:
        parent = thread_parent(channel)
        channel_id = getattr(channel, "id", None)
        if parent is not None and isinstance(channel_id, int):
            self._thread_parents[channel_id] = parent
            return channel_ref(guild_id, parent), str(channel_id)
        if isinstance(channel, discord.TextChannel | discord.VoiceChannel | discord.StageChannel):
            return channel_ref(guild_id, channel.id), None
        if isinstance(channel_id, int) and channel_id in self._thread_parents:
            return channel_ref(guild_id, self._thread_parents[channel_id]), str(channel_id)
        return None

    async def where(self, guild_id: int, channel: object) -> Where | None:
        """The text channel (and thread) a message or command is in, asking Discord if not cached."""
        found = self._where_cached(guild_id, channel)
        if found is not None or self.client is None:
            return found
        channel_id = getattr(channel, "id", channel)
        if not isinstance(channel_id, int):
            return None
        fetched = self.client.get_channel(channel_id)
        if fetched is None:
            try:
                fetched = await self.client.fetch_channel(channel_id)
            except discord.HTTPException as exc:
                log.warning("cannot see discord channel %s: %s", channel_id, exc)
                return None
        return self._where_cached(guild_id, fetched)

    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or self._is_own(message) or message.type not in RELAYED_TYPES:
            return
        where = self._where_cached(message.guild.id, message.channel)
        if where is None:  # an uncached thread: find it first (this message may then overtake another)
            where = await self.where(message.guild.id, message.channel)
            if where is None:
                return
        lock = self._lock(where[0].channel)
        async with lock:
            if message.id in self._caught_up:  # posted while its channel caught up, and fetched with it
                return
            await self.deliver(self._incoming(message, where), message.id)

    def _remember_names(self, message: discord.Message) -> None:
        """Who wrote or was mentioned lately: names for mentions Discord did not resolve (members
        are not cached, since Agora asks for no member intent)."""
        for user in (message.author, *message.mentions):
            if user.id:
                self._seen_names.pop(user.id, None)
                self._seen_names[user.id] = user.display_name
        for names in (self._seen_names, self._mentioned_channels):
            while len(names) > SEEN_NAMES:
                del names[next(iter(names))]

    def _incoming(self, message: discord.Message, where: Where) -> IncomingMessage:
        channel, thread_id = where
        self._remember_names(message)
        author = author_of(message.author)
        return IncomingMessage(
            channel=channel,
            id=str(message.id),
            author=Author(author.id, author.name, author.avatar_url, is_bot_post(message)),
            text=text_of(message, cache_lookup(self.client, message.guild, self._seen_names, self._mentioned_channels)),
            thread_id=thread_id or reply_root(message),
            event_id=f"discord:{message.id}",
            attachments=attachments_of(message),
        )

    async def deliver(self, event: Event, message_id: int | None = None) -> None:
        if self._sink is None:
            return
        try:
            await self._sink(event)
        except Exception:
            log.exception("the core failed on a discord %s", type(event).__name__)
            return
        channel = getattr(event, "channel", None)
        if message_id is not None and isinstance(channel, ChannelRef) and channel.channel in self._linked:
            self.tables.advance(channel.channel, channel.space, message_id)

    async def on_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data = payload.data
        message = payload.message
        if payload.guild_id is None or "content" not in data or not data.get("edited_timestamp"):
            return  # a link preview arriving is an update, not an edit
        if "content" in cast(Any, data).get(FILLED, ()):
            return  # an update that only looked like an edit once made readable
        if self._is_own(message) or message.type not in RELAYED_TYPES:
            return
        where = await self.where(payload.guild_id, message.channel)
        if where is None:
            return
        stamp = data.get("edited_timestamp")
        text = self._incoming(message, where).text  # the copies' files stay (edits leave them alone)
        event = MessageEdited(where[0], str(message.id), text, event_id=f"discord:edit:{message.id}:{stamp}")
        async with self._lock(where[0].channel):
            await self.deliver(event)

    async def on_delete(
        self, guild_id: int | None, channel_id: int, ids: list[int], cached: discord.Message | None
    ) -> None:
        if guild_id is None or (cached is not None and self._is_own(cached)):
            return
        ids = [i for i in ids if i not in self._deleted_by_us]
        if not ids:
            return
        channel = self.client.get_channel(channel_id) if self.client else None
        where = await self.where(guild_id, channel or channel_id)
        if where is None:
            return
        async with self._lock(where[0].channel):
            for message_id in ids:
                await self.deliver(MessageDeleted(where[0], str(message_id), event_id=f"discord:delete:{message_id}"))

    # ------------------------------------------------------------ catch-up

    async def _catch_up(self, held: list[asyncio.Lock]) -> None:
        """Feed what was missed in each linked channel (a few channels at a time, each in order);
        a channel's lock, if held since start, is released once it has caught up."""
        assert self.client is not None and self._catchup is not None
        self.refresh_linked()
        self._catchup.reset()
        slots = asyncio.Semaphore(CATCH_UP_CHANNELS_AT_ONCE)

        async def one(channel_id: str, guild_id: str) -> None:
            lock = self._lock(channel_id)
            owned = lock in held
            if not owned:
                await lock.acquire()
            try:
                async with slots:
                    await self._catch_up_channel(int(guild_id), int(channel_id))
            except Exception:  # one channel's failure keeps the others
                log.exception("could not catch up discord channel %s", channel_id)
            finally:
                lock.release()
                if owned:
                    held.remove(lock)

        await asyncio.gather(*(one(c, g) for c, g in list(self._linked.items())))
        for lock in held:  # a channel unlinked meanwhile: let its messages through
            if lock.locked():
                lock.release()
        held.clear()

    async def _catch_up_channel(self, guild_id: int, channel_id: int) -> None:
        assert self._catchup is not None
        missed = await self._catchup.missed(guild_id, channel_id)
        for message in missed:
            if self._is_own(message) or message.type not in RELAYED_TYPES:
                self.tables.advance(str(channel_id), str(guild_id), message.id)
                continue
            where = await self.where(guild_id, message.channel)
            if where is not None:
                await self.deliver(self._incoming(message, where), message.id)
                self._caught_up[message.id] = None
                while len(self._caught_up) > CAUGHT_UP_REMEMBERED:
                    del self._caught_up[next(iter(self._caught_up))]

    # ------------------------------------------------------------ posting

    def render(self, text: RichText) -> str:
        return render(text)

    def _content(self, msg: OutgoingMessage) -> str:
        """The text with its footer as small print (``-#``) below, within Discord's 2,000 characters."""
        body = render(msg.text)
        if not msg.footer:
            return body
        foot = render(msg.footer)
        for candidate in ("\n".join("-# " + line for line in foot.split("\n")), foot):
            joined = f"{body}\n{candidate}" if body else candidate
            if len(joined) <= self.max_text:
                return joined
        room = self.max_text - len(body) - 1
        short = to_plain(msg.footer).replace("\n", " ")
        while room > 8 and short:
            short = short[: max(room - 1, 1)].rstrip()
            cut = render(plain(short + "…"))
            if len(cut) <= room:
                return f"{body}\n{cut}"
            room -= 4
        return body

    def _require(self) -> tuple[_Client, Webhooks]:
        if self.client is None or self.webhooks is None or self.client.is_closed():
            raise DeliveryError("the Discord adapter is not connected", retriable=True)
        return self.client, self.webhooks

    async def send(self, msg: OutgoingMessage) -> MessageRef:
        try:
            return await self._send(msg)
        except Exception as exc:
            raise delivery_error(exc, f"post to {msg.channel}") from exc

    async def _send(self, msg: OutgoingMessage) -> MessageRef:
        _, webhooks = self._require()
        sent = self.tables.sent(msg.nonce)
        if sent is None:
            hook = await webhooks.get(msg.channel.space, msg.channel.channel)
            posted = await self._post(hook, msg, self._content(msg))
            sent = self.tables.record_sent(msg.nonce, msg.channel.channel, str(posted.id), msg.thread_id)
        return await self._finish(msg, sent)

    async def _finish(self, msg: OutgoingMessage, sent: SentPost) -> MessageRef:
        """A question copy becomes a thread root (once, even across retries)."""
        if not msg.starts_thread or msg.thread_id:
            return MessageRef(msg.channel, sent.message_id, sent.thread_id or msg.thread_id)
        opened = sent.thread_started or await self._open_thread(msg.channel, int(sent.message_id), msg.thread_title)
        if opened and not sent.thread_started:
            self.tables.thread_started(msg.nonce)
        return MessageRef(msg.channel, sent.message_id, sent.message_id if opened else None)

    async def _post(
        self, hook: discord.Webhook, msg: OutgoingMessage, content: str, retried: bool = False
    ) -> discord.WebhookMessage:
        options: dict[str, Any] = {
            "username": webhook_username(msg.author.name if msg.author else "", self.settings.webhook_name),
            "allowed_mentions": NO_PINGS,
            "wait": True,
        }
        avatar = msg.author.avatar_url if msg.author else None
        if avatar and avatar.startswith(("https://", "http://")):
            options["avatar_url"] = avatar
        if msg.thread_id:
            if not msg.thread_id.isdigit():
                raise DeliveryError(f"{msg.thread_id!r} is not a discord thread id", retriable=False)
            options["thread"] = discord.Object(int(msg.thread_id))
        if msg.image is not None:
            options["file"] = discord.File(io.BytesIO(msg.image), filename=msg.image_name or "agora.png")
        if msg.files:  # multipart attachments of the post (files.py)
            options["files"] = self.files.attach(msg) + ([options.pop("file")] if "file" in options else [])
        try:
            posted: discord.WebhookMessage = await hook.send(content or discord.utils.MISSING, **options)
            return posted
        except discord.HTTPException as exc:
            if retried:
                raise
            if exc.code == 10015 and self.webhooks is not None:  # someone deleted Agora's webhook
                self.webhooks.forget(msg.channel.channel)
                hook = await self.webhooks.get(msg.channel.space, msg.channel.channel)
                return await self._post(hook, msg, content, retried=True)
            if (  # an answer to a message that has no thread yet (Spacebar answers a plain 404)
                (exc.code == 10003 or exc.status == 404)
                and msg.thread_id
                and await self._open_thread(msg.channel, int(msg.thread_id), msg.thread_title)
            ):
                return await self._post(hook, msg, content, retried=True)
            if exc.code == 50083 and msg.thread_id:  # the question's thread was archived
                await self._unarchive(int(msg.thread_id))
                return await self._post(hook, msg, content, retried=True)
            raise

    async def _open_thread(self, channel: ChannelRef, message_id: int, title: str) -> bool:
        """Start a thread from a posted message; False when Discord forbids it (copies still go out).

        Straight through the REST route: a replica on standby has no gateway session, so no
        guild in its cache, and discord.py's ``Message.create_thread`` refuses to run without one."""
        client, _ = self._require()
        duration = cast(Any, self.settings.thread_archive_minutes)
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                await client.http.start_thread_with_message(
                    int(channel.channel), message_id, name=thread_name(title), auto_archive_duration=duration
                )
        except discord.HTTPException as exc:
            if exc.code == 160004:  # a thread already exists for this message
                return True
            if exc.status == 403:
                log.warning("cannot open question threads in %s (needs Create Public Threads): %s", channel, exc)
                return False
            raise
        self._thread_parents[message_id] = int(channel.channel)
        return True

    async def _unarchive(self, thread_id: int) -> None:
        client, _ = self._require()
        thread = client.get_channel(thread_id) or await client.fetch_channel(thread_id)
        if isinstance(thread, discord.Thread):
            async with asyncio.timeout(self.settings.request_timeout):
                await thread.edit(archived=False)

    def _thread_of(self, ref: MessageRef) -> Any:
        if ref.thread_id and ref.thread_id != ref.id and ref.thread_id.isdigit():
            return discord.Object(int(ref.thread_id))
        return discord.utils.MISSING

    async def _awake(self, ref: MessageRef, call: Callable[[], Awaitable[object]]) -> None:
        """Run an edit or delete; Discord refuses both in an archived thread, so wake it and retry once."""
        try:
            await call()
        except discord.HTTPException as exc:
            thread = self._thread_of(ref)
            if exc.code != 50083 or thread is discord.utils.MISSING:
                raise
            await self._unarchive(thread.id)
            await call()

    async def edit(self, ref: MessageRef, msg: OutgoingMessage) -> None:
        try:
            _, webhooks = self._require()
            hook = await webhooks.get(ref.channel.space, ref.channel.channel)
            content = self._content(msg)
            await self._awake(
                ref,
                lambda: hook.edit_message(
                    int(ref.id), content=content, allowed_mentions=NO_PINGS, thread=self._thread_of(ref)
                ),
            )
        except Exception as exc:
            raise delivery_error(exc, f"edit {ref.id} in {ref.channel}") from exc

    async def delete(self, ref: MessageRef) -> None:
        try:
            _, webhooks = self._require()
            hook = await webhooks.get(ref.channel.space, ref.channel.channel)
            self._deleted_by_us.append(int(ref.id))
            await self._awake(ref, lambda: hook.delete_message(int(ref.id), thread=self._thread_of(ref)))
        except discord.NotFound as exc:
            if exc.code != 10008:  # 10008: already gone, which is what was asked
                raise delivery_error(exc, f"delete {ref.id} in {ref.channel}") from exc
        except Exception as exc:
            raise delivery_error(exc, f"delete {ref.id} in {ref.channel}") from exc

    async def find_sent(self, msg: OutgoingMessage) -> MessageRef | None:
        """Did a post for this nonce go through before a crash? Ask the table, then recent history."""
        try:
            sent = self.tables.sent(msg.nonce)
            if sent is None:
                sent = await self._find_in_history(msg)
            return None if sent is None else await self._finish(msg, sent)
        except Exception as exc:
            raise delivery_error(exc, f"look for an earlier post in {msg.channel}") from exc

    async def _find_in_history(self, msg: OutgoingMessage) -> SentPost | None:
        client, webhooks = self._require()
        where = int(msg.thread_id) if msg.thread_id and msg.thread_id.isdigit() else int(msg.channel.channel)
        content = self._content(msg)
        name = webhook_username(msg.author.name if msg.author else "", self.settings.webhook_name)
        channel = client.get_partial_messageable(where, guild_id=int(msg.channel.space))
        async with asyncio.timeout(self.settings.request_timeout):
            async for message in channel.history(limit=FIND_SENT_LOOKBACK):
                if webhooks.is_ours(message.webhook_id) and message.content == content and message.author.name == name:
                    return self.tables.record_sent(msg.nonce, msg.channel.channel, str(message.id), msg.thread_id)
        return None

    async def fetch(self, attachment: Attachment, channel: ChannelRef) -> bytes:
        """An attachment's bytes from the CDN (FileTransfer; files.py)."""
        return await self.files.fetch(attachment, channel)

    def upload_limit(self, channel: ChannelRef) -> int:
        """The guild's upload limit capped by ``max_file_mb`` (FileTransfer)."""
        return self.files.upload_limit(channel)

    # ------------------------------------------------------------ doctor

    def checks(self) -> list[Check]:
        """Token, endpoints, intent and webhooks, without network calls."""
        token = bool(self.context.environ.get(TOKEN_ENV, "").strip())
        out = [
            Check(
                "Discord bot token",
                token,
                f"{TOKEN_ENV} is {'set' if token else 'not set'}",
                "" if token else f"copy the token from Bot > Reset Token in the developer portal into {TOKEN_ENV}",
            ),
            Check(
                "Discord endpoints",
                True,
                f"API {self.settings.api_base}, gateway {self.settings.gateway_url or 'Discord default'}",
            ),
        ]
        client = self.client
        if client is not None and client.is_ready():
            flags = client.application_flags
            ok = flags.gateway_message_content or flags.gateway_message_content_limited
            out.append(
                Check(
                    "Discord Message Content intent",
                    ok,
                    "enabled" if ok else "not enabled",
                    "" if ok else "developer portal > Bot > Privileged Gateway Intents > Message Content",
                )
            )
        linked = [c.ref.channel for c in self.context.channels(self.platform)]
        hooks = sum(1 for c in linked if self.tables.webhook(c) is not None)
        out.append(
            Check(
                "Discord webhooks",
                True,
                f"{hooks} of {len(linked)} linked channels have Agora's webhook "
                "(made on the first post; the bot needs Manage Webhooks)",
            )
        )
        return out
