"""After downtime: the messages a linked channel received while Agora was away.

Each linked channel keeps the newest message id Agora handled there, threads
included (``discord_seen``). At start, and after a gateway session had to be
started afresh, the messages after that mark are fetched from the channel and
from its active threads, no older than ``catchup_hours`` and at most
``catchup_limit`` per channel or thread, and handed over oldest first, once
each. Every call may fail on its own: a failed thread listing keeps the
channels' messages, a failed channel keeps the others, each logged once. A
channel seen for the first time starts its mark now: nothing from before it
was linked is relayed.
"""

from __future__ import annotations

import asyncio
import datetime
import logging

import aiohttp
import discord

from adapters.discord.tables import Tables

log = logging.getLogger(__name__)
# What a Discord(-compatible) server's answers can raise, malformed answers included.
FAILURES = (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError, KeyError, TypeError, ValueError)


class CatchUp:
    """Finds the messages missed in linked channels."""

    def __init__(self, client: discord.Client, tables: Tables, hours: float, limit: int) -> None:
        self.client = client
        self.tables = tables
        self.hours = hours
        self.limit = limit
        self._threads: dict[int, list[discord.Thread]] = {}
        self._lock = asyncio.Lock()

    def reset(self) -> None:
        """Forget the active-thread lists of the previous run."""
        self._threads.clear()

    async def missed(self, guild_id: int, channel_id: int) -> list[discord.Message]:
        """Messages after the channel's mark, in the channel and its active threads, oldest first."""
        last = self.tables.seen(str(channel_id))
        now = discord.utils.utcnow()
        if last is None:
            self.tables.advance(str(channel_id), str(guild_id), discord.utils.time_snowflake(now))
            return []
        if self.hours <= 0:
            return []
        floor = discord.utils.time_snowflake(now - datetime.timedelta(hours=self.hours))
        after = discord.Object(max(last, floor))
        found: dict[int, discord.Message] = {}
        try:
            channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)
        except FAILURES as exc:
            log.warning("catch-up: cannot see discord channel %s: %s", channel_id, _reason(exc))
            return []
        if not isinstance(channel, discord.TextChannel):
            return []
        try:
            async for message in channel.history(limit=self.limit, after=after, oldest_first=True):
                found[message.id] = message
        except FAILURES as exc:  # the threads may still be readable
            log.warning("catch-up: history of discord channel %s failed: %s", channel_id, _reason(exc))
        for thread in await self._active_threads(channel.guild):
            if thread.parent_id == channel_id and (thread.last_message_id or 0) > after.id:
                try:
                    async for message in thread.history(limit=self.limit, after=after, oldest_first=True):
                        found[message.id] = message
                except FAILURES as exc:
                    log.warning("catch-up: history of discord thread %s failed: %s", thread.id, _reason(exc))
        if found:
            log.info("catching up %d messages in discord channel %s", len(found), channel_id)
        return [found[key] for key in sorted(found)]

    async def _active_threads(self, guild: discord.Guild) -> list[discord.Thread]:
        """The guild's active threads, asked once per pass; a failure is logged once and means none."""
        async with self._lock:  # one request per guild, however many of its channels catch up at once
            if guild.id not in self._threads:
                try:
                    self._threads[guild.id] = await guild.active_threads()
                except FAILURES as exc:
                    log.warning(
                        "catch-up: listing the active threads of discord guild %s failed (%s); "
                        "catching up channels without their threads",
                        guild.id,
                        _reason(exc),
                    )
                    self._threads[guild.id] = []
            return self._threads[guild.id]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status} (code {exc.code}) {exc.text}".strip()
    return f"{type(exc).__name__}: {exc}"
