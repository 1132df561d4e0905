"""The ``[adapters.discord]`` table, validated once, with Discord's own endpoints as defaults.

Keys are read by the shared reader (:mod:`bot.settings`), so a typo or a wrong
type stops ``agora run`` with the key's dotted name. Only ``DISCORD_TOKEN`` (an
environment variable) is secret; nothing secret is read from the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.settings import Table, check, read_dataclass

PREFIX = "adapters.discord"
DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"
DISCORD_CDN = "https://cdn.discordapp.com"
TOKEN_ENV = "DISCORD_TOKEN"
SYNC_MODES = ("guild", "global", "off")
ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
HTTP = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the Discord adapter reads from config.toml (no secrets)."""

    enabled: bool = True
    api_base: str = DISCORD_API  # REST base, e.g. https://spacebar.example/api/v9
    gateway_url: str | None = None  # None: Discord's, or asked from api_base's /gateway/bot
    cdn_url: str = ""  # avatars and assets; "": Discord's CDN, or api_base's origin when that is set
    sync: str = "guild"  # where application commands are registered: guild (instant), global, or off
    guild_ids: tuple[int, ...] = ()  # guilds to register commands in when sync = guild (default: all the bot is in)
    catchup_hours: float = 24.0  # at start, fetch messages missed while down, at most this old (0 disables)
    catchup_limit: int = 500  # at most this many missed messages per channel and thread
    webhook_name: str = "Agora"  # name of the webhook Agora creates in each channel
    thread_archive_minutes: int = 1440  # auto-archive of question threads: 60, 1440, 4320 or 10080
    max_ratelimit_wait: float = 1.0  # seconds discord.py may wait on a rate limit before the outbox reschedules
    request_timeout: float = 15.0  # seconds before a Discord call counts as failed (and is retried later)
    connect_timeout: float = 60.0  # seconds start() waits for the gateway to be ready
    guild_ready_timeout: float = 2.0  # seconds discord.py waits for the last guild after READY
    reidentify_delay: float = 5.0  # seconds before a new gateway session (Discord allows one per 5 s)
    pace: float = 0.25  # seconds between posts in one channel (Discord's buckets do the rest)
    max_file_mb: int = 100  # largest file uploaded with a copy (the guild's own limit applies too)
    gateway_lease: float = 30.0  # with replicas: seconds before a standby takes over a dead holder's gateway

    @property
    def custom_endpoints(self) -> bool:
        """True when pointed at a Discord-compatible server rather than Discord."""
        return self.api_base != DISCORD_API or self.gateway_url is not None

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Settings:
        """Check every key and type; ConfigError names the offending ``adapters.discord.<key>``."""
        rest = dict(Table(table, PREFIX).raw)
        guild_ids = _guild_ids(rest.pop("guild_ids", []))
        if rest.get("gateway_url") is None:  # absent, or None from a caller (TOML has no null)
            rest.pop("gateway_url", None)
        settings = read_dataclass(cls, rest, PREFIX)
        api_base = settings.api_base.rstrip("/")
        cdn = settings.cdn_url or (DISCORD_CDN if api_base == DISCORD_API else _origin(api_base))
        settings = replace(settings, api_base=api_base, cdn_url=cdn.rstrip("/"), guild_ids=guild_ids)
        settings._validate()
        return settings

    def _validate(self) -> None:
        check(self.api_base.startswith(HTTP), PREFIX, "api_base", f"{self.api_base!r} is not an http(s) URL")
        gateway = self.gateway_url
        ok = gateway is None or gateway.startswith(("ws://", "wss://"))
        check(ok, PREFIX, "gateway_url", f"{gateway!r} is not a ws(s) URL")
        check(self.cdn_url.startswith(HTTP), PREFIX, "cdn_url", f"{self.cdn_url!r} is not an http(s) URL")
        check(self.sync in SYNC_MODES, PREFIX, "sync", f"{self.sync!r} is not one of {', '.join(SYNC_MODES)}")
        name = self.webhook_name
        ok = 1 <= len(name) <= 80 and "clyde" not in name.lower() and "discord" not in name.lower()
        check(ok, PREFIX, "webhook_name", "1-80 characters, without 'clyde' or 'discord'")
        ok = self.thread_archive_minutes in ARCHIVE_MINUTES
        check(ok, PREFIX, "thread_archive_minutes", f"one of {ARCHIVE_MINUTES}")
        for key, low in LOWEST.items():
            value = getattr(self, key)
            check(value >= low, PREFIX, key, f"expected a number of at least {low}, got {value!r}")


LOWEST: dict[str, float] = {
    "catchup_hours": 0.0,
    "catchup_limit": 0,
    "max_ratelimit_wait": 0.001,
    "request_timeout": 0.1,
    "connect_timeout": 0.1,
    "guild_ready_timeout": 0.0,
    "reidentify_delay": 0.0,
    "pace": 0.0,
    "max_file_mb": 1,
    "gateway_lease": 1.0,
}


def _guild_ids(raw: Any) -> tuple[int, ...]:
    """Guild ids as TOML may spell them: numbers or strings of digits."""
    ok = isinstance(raw, list) and all(str(g).isdigit() for g in raw)
    check(ok, PREFIX, "guild_ids", f"must be a list of guild ids, got {raw!r}")
    return tuple(int(g) for g in raw)


def _origin(url: str) -> str:
    """``https://host:port`` of a URL."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
