"""One webhook per channel: the way copies appear under each author's name and avatar.

A channel's webhook is looked up in ``discord_webhooks``, else an existing
webhook made by Agora's bot is reused, else one is created. Posts, edits and
deletes all go through it (Discord lets a webhook edit only its own messages),
over Agora's own session (see :mod:`adapters.discord.transport`).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord

from adapters.discord.tables import Tables
from bot.errors import DeliveryError

log = logging.getLogger(__name__)


class Webhooks:
    """The channel webhooks Agora posts through, and the ids that mark its own posts."""

    def __init__(self, client: discord.Client, tables: Tables, session: aiohttp.ClientSession, name: str) -> None:
        self.client = client
        self.tables = tables
        self.session = session
        self.name = name
        self.ids: set[int] = tables.webhook_ids()
        self._hooks: dict[str, discord.Webhook] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def is_ours(self, webhook_id: int | None) -> bool:
        """Whether a post came through Agora's webhook, this replica's or another's: a webhook
        another replica made since this one started is only in the shared table, so an unknown id
        is looked up there before it counts as someone else's."""
        if webhook_id is None:
            return False
        if webhook_id not in self.ids:
            self.ids |= self.tables.webhook_ids()
        return webhook_id in self.ids

    def forget(self, channel_id: str) -> None:
        """Drop a webhook Discord no longer knows (someone deleted it); the next post makes a new one."""
        self._hooks.pop(channel_id, None)
        self.tables.forget_webhook(channel_id)

    async def get(self, guild_id: str, channel_id: str) -> discord.Webhook:
        """The channel's webhook, creating it on first use (one creation per channel, even concurrently)."""
        hook = self._hooks.get(channel_id)
        if hook is not None:
            return hook
        async with self._locks.setdefault(channel_id, asyncio.Lock()):
            hook = self._hooks.get(channel_id)
            if hook is not None:
                return hook
            known = self.tables.webhook(channel_id)
            if known is None:
                known = await self._find_or_create(guild_id, channel_id)
                self.tables.save_webhook(channel_id, guild_id, known[0], known[1])
            self.ids.add(known[0])
            hook = discord.Webhook.partial(known[0], known[1], session=self.session, client=self.client)
            self._hooks[channel_id] = hook
            return hook

    async def _find_or_create(self, guild_id: str, channel_id: str) -> tuple[int, str]:
        channel = self.client.get_channel(int(channel_id)) or await self.client.fetch_channel(int(channel_id))
        if not isinstance(channel, discord.TextChannel):  # forum and voice channels cannot hold question threads
            raise DeliveryError(f"discord channel {channel_id} is not a text channel", retriable=False)
        me = self.client.user
        for hook in await channel.webhooks():
            if hook.token and me is not None and hook.user is not None and hook.user.id == me.id:
                log.info("reusing webhook %s in discord channel %s", hook.id, channel_id)
                return hook.id, hook.token
        created = await channel.create_webhook(name=self.name, reason="Agora posts relayed messages through it")
        if not created.token:
            raise DeliveryError(f"discord gave no token for the webhook in {channel_id}", retriable=False)
        log.info("created webhook %s in discord channel %s (guild %s)", created.id, channel_id, guild_id)
        return created.id, created.token
