"""Slash commands and the "Translate for me" shortcut.

Both acknowledge first (Slack gives three seconds; translation may take
longer), then refuse replays: a signed request can be sent again by anyone who
captured it, so each ``(team, trigger_id)`` is accepted once, remembered in the
database (``slack_events``, pruned after days, far beyond the five-minute window
in which Bolt accepts a signature), so a restart does not forget. Then they
look the caller up (name, locale for the reply language, admin
flag) and hand the core a CommandInvoked or TranslateRequest whose ``reply``
posts back the way Slack allows: command replies through the response_url
(ephemeral, or in channel), shortcut answers with chat.postEphemeral where the
bot can post, the response_url where it cannot. A chart in an ephemeral reply
is uploaded privately and shown in an image block, since Slack has no
ephemeral files.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import aiohttp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import text_of
from adapters.slack.names import Names
from adapters.slack.tables import SlackTables
from adapters.slack.users import SlackUser, UserDirectory
from bot.errors import DeliveryError
from bot.events import Author, ChannelRef, CommandInvoked, Event, Replier, Reply, TranslateRequest
from bot.i18n import language_of
from bot.ports import AdapterContext
from bot.richtext import RichText, plain

log = logging.getLogger(__name__)
T = TypeVar("T")


class InteractionsHost(Protocol):
    """What the listeners need of the Slack adapter (they import nothing from adapter.py)."""

    platform: str
    context: AdapterContext
    tables: SlackTables
    users: UserDirectory
    names: Names

    async def channel_creator(self, team: str, channel: str) -> str | None: ...
    async def emit(self, event: Event) -> bool: ...
    def parts(self, text: RichText) -> list[str]: ...
    async def api(self, action: str, team: str, fn: Callable[[AsyncWebClient, str], Awaitable[T]]) -> T: ...
    async def upload(
        self, team: str, channel: str | None, data: bytes, name: str, *, thread_ts: str | None = None
    ) -> str: ...


class Interactions:
    """Bolt listeners for ``/ask``, ``/agora`` and the message shortcut."""

    def __init__(self, adapter: InteractionsHost) -> None:
        self.adapter = adapter

    async def on_command(
        self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond
    ) -> None:
        await ack()
        team = str(context.team_id or command.get("team_id") or "")
        if self._replayed(team, command):
            return
        channel_id = str(command.get("channel_id") or "")
        user_id = str(command.get("user_id") or "")
        user = await self.adapter.users.get(team, user_id)
        can_manage = bool(user and user.is_admin)
        if not can_manage:
            can_manage = await self.adapter.channel_creator(team, channel_id) == user_id
        reply = self._command_replier(team, channel_id, respond)
        event = CommandInvoked(
            channel=ChannelRef(self.adapter.platform, team, channel_id),
            author=_author(user, user_id, str(command.get("user_name") or user_id)),
            name=str(command.get("command") or "").lstrip("/"),
            args=str(command.get("text") or ""),
            reply=reply,
            locale=user.locale if user else None,
            can_manage=can_manage,
        )
        await self._emit(event, reply, user)

    async def on_translate(
        self, ack: AsyncAck, shortcut: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond
    ) -> None:
        await ack()
        team = str(context.team_id or (shortcut.get("team") or {}).get("id") or "")
        if self._replayed(team, shortcut):
            return
        channel_id = str((shortcut.get("channel") or {}).get("id") or "")
        user_id = str((shortcut.get("user") or {}).get("id") or "")
        message: dict[str, Any] = shortcut.get("message") or {}
        user = await self.adapter.users.get(team, user_id)
        thread_ts = message.get("thread_ts")

        async def reply(r: Reply) -> None:
            for part in self.adapter.parts(r.text):
                if not await self._ephemeral(team, channel_id, user_id, part, thread_ts):
                    await _respond(respond, text=part, response_type="ephemeral")

        event = TranslateRequest(
            channel=ChannelRef(self.adapter.platform, team, channel_id),
            author=_author(user, user_id, str((shortcut.get("user") or {}).get("name") or user_id)),
            text=await self.adapter.names.label(team, text_of(message)),
            reply=reply,
            locale=user.locale if user else None,
        )
        await self._emit(event, reply, user)

    def _replayed(self, team: str, payload: dict[str, Any]) -> bool:
        """True (and logged) when this request's trigger was already handled."""
        trigger = payload.get("trigger_id")
        if not isinstance(trigger, str) or not trigger:
            return False  # Slack always sends one; without it there is nothing to key on
        if self.adapter.tables.first_time(f"trigger:{team}:{trigger}"):
            return False
        log.warning("slack: replayed request refused (team %s, trigger %s)", team, trigger[:12])
        return True

    async def close(self) -> None:
        """Nothing is held between interactions; kept for the adapter's symmetric stop()."""

    async def _emit(self, event: Event, reply: Replier, user: SlackUser | None) -> None:
        if not await self.adapter.emit(event):
            lang = language_of(user.locale if user else None, "en")
            await reply(Reply(plain(self.adapter.context.catalog.t("error.internal", lang))))

    def _command_replier(self, team: str, channel_id: str, respond: AsyncRespond) -> Replier:
        async def reply(r: Reply) -> None:
            response_type = "ephemeral" if r.ephemeral else "in_channel"
            for part in self.adapter.parts(r.text):
                await _respond(respond, text=part, response_type=response_type)
            if r.image is not None:
                await self._image(team, channel_id, r, r.image, respond)

        return reply

    async def _image(self, team: str, channel_id: str, r: Reply, data: bytes, respond: AsyncRespond) -> None:
        name = r.image_name or "chart.png"
        try:
            if r.ephemeral:
                file_id = await self.adapter.upload(team, None, data, name)
                block = {"type": "image", "slack_file": {"id": file_id}, "alt_text": name}
                await _respond(respond, text=name, response_type="ephemeral", blocks=[block])
            else:
                await self.adapter.upload(team, channel_id, data, name)
        except DeliveryError as exc:
            log.warning("slack: chart for %s not uploaded: %s", channel_id, exc.reason)

    async def _ephemeral(self, team: str, channel: str, user: str, text: str, thread_ts: Any) -> bool:
        try:
            await self.adapter.api(
                "chat.postEphemeral",
                team,
                lambda c, t: c.chat_postEphemeral(
                    token=t, channel=channel, user=user, text=text, thread_ts=thread_ts if thread_ts else None
                ),
            )
        except DeliveryError as exc:
            log.info("slack: ephemeral answer in %s failed (%s); using the response_url", channel, exc.reason)
            return False
        return True


async def _respond(respond: AsyncRespond, **kwargs: Any) -> bool:
    """Post through the response_url; failures are logged, since the caller cannot do better."""
    try:
        resp = await respond(**kwargs)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        log.warning("slack: response_url post failed: %s", type(exc).__name__)
        return False
    if resp.status_code != 200:
        log.warning("slack: response_url answered %s", resp.status_code)
        return False
    return True


def _author(user: SlackUser | None, user_id: str, fallback_name: str) -> Author:
    if user is None:
        return Author(user_id, fallback_name)
    return Author(user.id, user.name, user.avatar_url, is_bot=user.is_bot)
