"""The ``[adapters.discord]`` table, validated once, with Discord's own endpoints as defaults.

Only ``DISCORD_TOKEN`` (an environment variable) is secret; nothing secret is
read from the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError

DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"
DISCORD_CDN = "https://cdn.discordapp.com"
TOKEN_ENV = "DISCORD_TOKEN"
SYNC_MODES = ("guild", "global", "off")
ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
KEYS = {
    "enabled": "start this adapter (default true)",
    "api_base": "REST base URL, e.g. https://spacebar.example/api/v9 (default Discord's)",
    "gateway_url": "gateway websocket URL (default: Discord's, or asked from api_base's /gateway/bot)",
    "cdn_url": "base URL of avatars and other assets (default: Discord's CDN, or api_base's origin when set)",
    "sync": "where application commands are registered: guild (instant), global, or off",
    "guild_ids": "guilds to register commands in when sync = guild (default: every guild the bot is in)",
    "catchup_hours": "at start, fetch messages missed while down, at most this old (0 disables)",
    "catchup_limit": "at most this many missed messages per channel and thread",
    "webhook_name": "name of the webhook Agora creates in each channel",
    "thread_archive_minutes": "auto-archive of question threads: 60, 1440, 4320 or 10080",
    "max_ratelimit_wait": "seconds discord.py may wait on a rate limit before the outbox reschedules instead",
    "request_timeout": "seconds before a Discord call counts as failed (and is retried later)",
    "connect_timeout": "seconds start() waits for the gateway to be ready",
    "guild_ready_timeout": "seconds discord.py waits for the last guild after READY",
    "reidentify_delay": "seconds to wait before starting a new gateway session (Discord allows one per 5 s)",
    "pace": "seconds between posts in one channel (Discord's buckets do the rest)",
    "max_file_mb": "largest file uploaded with a copy, in MB (the guild's own limit applies too: 10 MB unboosted)",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated Discord adapter settings."""

    api_base: str = DISCORD_API
    gateway_url: str | None = None
    cdn_url: str = DISCORD_CDN
    sync: str = "guild"
    guild_ids: tuple[int, ...] = ()
    catchup_hours: float = 24.0
    catchup_limit: int = 500
    webhook_name: str = "Agora"
    thread_archive_minutes: int = 1440
    max_ratelimit_wait: float = 1.0
    request_timeout: float = 15.0
    connect_timeout: float = 60.0
    guild_ready_timeout: float = 2.0
    reidentify_delay: float = 5.0
    pace: float = 0.25
    max_file_mb: int = 100

    @property
    def custom_endpoints(self) -> bool:
        """True when pointed at a Discord-compatible server rather than Discord."""
        return self.api_base != DISCORD_API or self.gateway_url is not None

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Settings:
        """Check every key and type; ConfigError names the offending ``adapters.discord.<key>``."""
        for key in table:
            if key not in KEYS:
                raise ConfigError(f"adapters.discord.{key}: unknown key (expected one of {', '.join(sorted(KEYS))})")
        api_base = _str(table, "api_base", DISCORD_API).rstrip("/")
        if not api_base.startswith(("http://", "https://")):
            raise ConfigError(f"adapters.discord.api_base: {api_base!r} is not an http(s) URL")
        gateway = table.get("gateway_url")
        if gateway is not None and not (isinstance(gateway, str) and gateway.startswith(("ws://", "wss://"))):
            raise ConfigError(f"adapters.discord.gateway_url: {gateway!r} is not a ws(s) URL")
        default_cdn = DISCORD_CDN if api_base == DISCORD_API else _origin(api_base)
        cdn = _str(table, "cdn_url", default_cdn).rstrip("/")
        if not cdn.startswith(("http://", "https://")):
            raise ConfigError(f"adapters.discord.cdn_url: {cdn!r} is not an http(s) URL")
        sync = _str(table, "sync", "guild")
        if sync not in SYNC_MODES:
            raise ConfigError(f"adapters.discord.sync: {sync!r} is not one of {', '.join(SYNC_MODES)}")
        raw_ids = table.get("guild_ids", [])
        if not isinstance(raw_ids, list) or not all(str(g).isdigit() for g in raw_ids):
            raise ConfigError("adapters.discord.guild_ids: must be a list of guild ids")
        name = _str(table, "webhook_name", "Agora")
        if not 1 <= len(name) <= 80 or "clyde" in name.lower() or "discord" in name.lower():
            raise ConfigError("adapters.discord.webhook_name: 1-80 characters, without 'clyde' or 'discord'")
        archive = _number(table, "thread_archive_minutes", 1440)
        if archive not in ARCHIVE_MINUTES:
            raise ConfigError(f"adapters.discord.thread_archive_minutes: one of {ARCHIVE_MINUTES}")
        return cls(
            api_base=api_base,
            gateway_url=gateway,
            cdn_url=cdn,
            sync=sync,
            guild_ids=tuple(int(g) for g in raw_ids),
            catchup_hours=float(_number(table, "catchup_hours", 24.0)),
            catchup_limit=int(_number(table, "catchup_limit", 500)),
            webhook_name=name,
            thread_archive_minutes=int(archive),
            max_ratelimit_wait=float(_number(table, "max_ratelimit_wait", 1.0, low=0.001)),
            request_timeout=float(_number(table, "request_timeout", 15.0, low=0.1)),
            connect_timeout=float(_number(table, "connect_timeout", 60.0, low=0.1)),
            guild_ready_timeout=float(_number(table, "guild_ready_timeout", 2.0, low=0.0)),
            reidentify_delay=float(_number(table, "reidentify_delay", 5.0, low=0.0)),
            pace=float(_number(table, "pace", 0.25, low=0.0)),
            max_file_mb=int(_number(table, "max_file_mb", 100, low=1)),
        )


def _str(table: Mapping[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"adapters.discord.{key}: expected a string, got {value!r}")
    return value


def _number(table: Mapping[str, Any], key: str, default: float, low: float = 0.0) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ConfigError(f"adapters.discord.{key}: expected a number of at least {low}, got {value!r}")
    return float(value) if isinstance(value, float) else value


def _origin(url: str) -> str:
    """``https://host:port`` of a URL."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
