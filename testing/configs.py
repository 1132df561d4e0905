"""Config sections that point a real Agora at the fake platforms (the raw dicts ``parse_config`` reads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testing.slack_server import APP_TOKEN, BOT_TOKEN

if TYPE_CHECKING:
    from testing.discord_server import FakeDiscord
    from testing.slack_server import FakeSlack

FAST_OUTBOX = {"backoff_base": 0.01, "backoff_max": 0.05}
"""Retries in hundredths of a second, so fault tests finish quickly."""


def adapters(
    slack: FakeSlack | None = None,
    discord: FakeDiscord | None = None,
    *,
    slack_timeout: float = 5,
    **discord_extra: Any,
) -> dict[str, Any]:
    """The ``adapters`` table: the web playground on a free port, plus whichever fakes are given."""
    out: dict[str, Any] = {"web": {"host": "127.0.0.1", "port": 0}}
    if slack is not None:
        out["slack"] = {"api_url": slack.api_url, "timeout": slack_timeout}
    if discord is not None:
        out["discord"] = {
            "api_base": discord.api_base,
            "gateway_url": discord.gateway_url,
            "guild_ready_timeout": 0.05,
            "reidentify_delay": 0.0,
            "request_timeout": 5.0,
            **discord_extra,
        }
    return out


def tokens(discord: FakeDiscord | None = None) -> dict[str, str]:
    """The environment holding the fakes' tokens (the Slack ones always; Discord's if given)."""
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
    if discord is not None:
        env["DISCORD_TOKEN"] = discord.token
    return env
