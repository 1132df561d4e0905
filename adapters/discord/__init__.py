"""Agora on Discord (discord.py): relayed copies through webhooks, questions as threads.

``create(config, context)`` is the entry point the core loads (group
``agora.adapters``, name ``discord``). The bot token comes only from the
``DISCORD_TOKEN`` environment variable. Keys of ``[adapters.discord]`` in
config.toml, all optional:

``enabled``
    start this adapter (default true).
``api_base``, ``gateway_url``
    a Discord-compatible server (self-hosted Spacebar, the test fake):
    REST base such as ``https://chat.example.org/api/v9`` and gateway such as
    ``wss://chat.example.org/``. Default: Discord's own. When only
    ``api_base`` is given, the gateway is asked from its ``/gateway/bot``.
    discord.py keeps both per process (see :mod:`adapters.discord.endpoints`).
``sync``
    where the application commands are registered: ``guild`` (default:
    instant, in ``guild_ids`` or every guild the bot is in), ``global`` (up to
    an hour to appear, once for all guilds) or ``off``.
``guild_ids``
    guilds to register commands in when ``sync = "guild"``.
``catchup_hours`` (24), ``catchup_limit`` (500)
    how far back, and how many messages per channel or thread, to fetch after
    downtime; 0 hours disables catch-up.
``webhook_name`` ("Agora")
    the name of the webhook made in each linked channel.
``thread_archive_minutes`` (1440)
    auto-archive of question threads: 60, 1440, 4320 or 10080.
``max_ratelimit_wait`` (1.0), ``request_timeout`` (15), ``connect_timeout`` (60)
    seconds: the longest rate-limit wait discord.py may absorb before the
    outbox reschedules instead; the longest a call may take; the longest
    ``start`` waits for the gateway.
``pace`` (0.25)
    seconds between posts in one channel; Discord's per-route buckets do the rest.
``guild_ready_timeout`` (2), ``reidentify_delay`` (5)
    seconds discord.py waits for guilds after READY, and before a new
    gateway session after one was invalidated (tests lower both).

Setup for operators is in ``adapters/discord/README.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.settings import Settings
from bot.ports import AdapterContext

__all__ = ["DiscordAdapter", "Settings", "create"]


def create(config: Mapping[str, Any], context: AdapterContext) -> DiscordAdapter:
    """Build the adapter from its ``[adapters.discord]`` table (ConfigError names a bad key)."""
    return DiscordAdapter(Settings.from_table(config), context)
