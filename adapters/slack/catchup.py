"""Relay what was posted in linked channels while Agora was down.

For each linked channel, from the last ts seen there (never further back than
``catchup_hours``): the channel's history, plus the replies in every thread
that history shows as active and in the channel's most recently active known
threads (Agora's own question copies among them, whose replies matter most).
Everything is fed to the core oldest first, through the same path as live
events, whose ``msg:`` dedupe keys make the overlap with live traffic harmless.
A channel seen for the first time starts from now: linking a channel does not
replay its past. Slash commands sent while down are lost (Slack keeps no
record of them), and edits or deletes of older messages are not replayed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import Converted, Identity, NewMessage, convert_message
from adapters.slack.settings import SlackSettings
from adapters.slack.tables import SlackTables, ts_value
from bot.errors import DeliveryError
from bot.events import ChannelRef
from bot.ports import AdapterContext

log = logging.getLogger(__name__)
Fetch = Callable[[AsyncWebClient, str, str | None], Awaitable[Any]]

PAGE = 200
MAX_PAGES = 10
ACTIVE_THREAD_DAYS = 7  # threads quiet for longer are not searched for new replies
MAX_WAIT = 30.0  # longest Retry-After honoured during catch-up (it is not the send path)


class CatchUpHost(Protocol):
    """What catch-up needs of the Slack adapter (it imports nothing from adapter.py)."""

    platform: str
    settings: SlackSettings
    context: AdapterContext
    tables: SlackTables

    async def identity(self, team: str) -> Identity: ...
    async def paged(self, action: str, team: str, fetch: Fetch, max_pages: int) -> list[dict[str, Any]]: ...
    async def deliver(self, team: str, record: Converted, event_id: str | None) -> bool: ...


class CatchUp:
    """One catch-up pass at start."""

    def __init__(self, adapter: CatchUpHost, now: float | None = None) -> None:
        self.adapter = adapter
        self.now = now if now is not None else time.time()

    async def run(self) -> int:
        """Catch up every linked Slack channel; returns how many messages were relayed."""
        settings = self.adapter.settings
        if settings.catchup_hours <= 0:
            return 0
        total = 0
        for channel in self.adapter.context.channels(self.adapter.platform):
            try:
                total += await self.channel(channel.ref)
            except DeliveryError as exc:
                log.warning("slack: catch-up of %s failed: %s", channel.ref, exc.reason)
        if total:
            log.info("slack: caught up on %d messages", total)
        return total

    async def channel(self, ref: ChannelRef) -> int:
        tables = self.adapter.tables
        team, channel = ref.space, ref.channel
        last = tables.last_seen(team, channel)
        if last is None:
            tables.mark_seen(team, channel, f"{self.now:.6f}")
            return 0
        floor = Decimal(f"{self.now - self.adapter.settings.catchup_hours * 3600:.6f}")
        oldest = max(ts_value(last), floor)
        messages: dict[str, dict[str, Any]] = {}
        since = self.now - ACTIVE_THREAD_DAYS * 86400
        threads = set(tables.recent_threads(team, channel, self.adapter.settings.catchup_threads, since))
        for m in await self._history(team, channel, oldest):
            messages[str(m["ts"])] = m
            if m.get("reply_count") and ts_value(str(m.get("latest_reply") or "0")) > oldest:
                threads.add(str(m["ts"]))
            if m.get("thread_ts") and m.get("thread_ts") != m.get("ts"):
                threads.add(str(m["thread_ts"]))  # a reply also sent to the channel
        for thread in sorted(threads, key=ts_value):
            try:
                replies = await self._replies(team, channel, thread, oldest)
            except DeliveryError as exc:
                log.debug("slack: catch-up of thread %s in %s skipped: %s", thread, channel, exc.reason)
                continue
            for m in replies:
                messages[str(m["ts"])] = m
        own = await self.adapter.identity(team)
        relayed = 0
        for m in sorted(messages.values(), key=lambda m: ts_value(str(m["ts"]))):
            record = convert_message(m, channel, own=own, relay_bots=self.adapter.settings.relay_bots)
            if isinstance(record, NewMessage) and await self.adapter.deliver(team, record, None):
                relayed += 1
        return relayed

    async def _paged(self, action: str, team: str, fetch: Fetch) -> list[dict[str, Any]]:
        """One paged read; a 429 is waited out once (catch-up runs before live traffic, nothing else waits)."""
        try:
            return await self.adapter.paged(action, team, fetch, MAX_PAGES)
        except DeliveryError as exc:
            if not exc.retriable or exc.retry_after is None or exc.retry_after > MAX_WAIT:
                raise
            await asyncio.sleep(exc.retry_after)
            return await self.adapter.paged(action, team, fetch, MAX_PAGES)

    async def _history(self, team: str, channel: str, oldest: Decimal) -> list[dict[str, Any]]:
        read = AsyncWebClient.conversations_history
        messages = await self._after("conversations.history", read, team, oldest, channel=channel)
        return [m for m in messages if ts_value(str(m["ts"])) > oldest]

    async def _replies(self, team: str, channel: str, thread: str, oldest: Decimal) -> list[dict[str, Any]]:
        read = AsyncWebClient.conversations_replies
        messages = await self._after("conversations.replies", read, team, oldest, channel=channel, ts=thread)
        return [m for m in messages if m["ts"] != thread and ts_value(str(m["ts"])) > oldest]

    async def _after(
        self, action: str, read: Callable[..., Awaitable[Any]], team: str, oldest: Decimal, **where: str
    ) -> list[dict[str, Any]]:
        """Every page ``read`` (history or replies: the same paging) returns newer than ``oldest``."""
        return await self._paged(
            action,
            team,
            lambda c, t, cursor: read(
                c,
                token=t,
                oldest=f"{oldest:.6f}",
                inclusive=False,
                limit=PAGE,
                include_all_metadata=True,
                cursor=cursor,
                **where,
            ),
        )
