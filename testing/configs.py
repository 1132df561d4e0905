"""Config sections that point a real Agora at the fake platforms (the raw dicts ``parse_config`` reads),
and the one builder of such an Agora the end-to-end tests share."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.app import Agora
from bot.config import parse_config
from testing.slack_server import APP_TOKEN, BOT_TOKEN
from testing.translator import MarkingTranslator

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


def marking_agora(
    tmp_path: Path,
    channels: list[dict[str, str]],
    *,
    slack: FakeSlack | None = None,
    discord: FakeDiscord | None = None,
    network: str = "americas",
    outbox: Mapping[str, float] = FAST_OUTBOX,
    slack_timeout: float = 5,
    **discord_extra: Any,
) -> Agora:
    """An Agora (not started) linking ``channels`` in one network, the web playground on a free
    port plus whichever fakes are given, its database in ``tmp_path`` and the marking translator
    (so each copy shows the language it was translated into)."""
    raw = {
        "agora": {"database": str(tmp_path / "agora.db")},
        "outbox": dict(outbox),
        "adapters": adapters(slack, discord, slack_timeout=slack_timeout, **discord_extra),
        "networks": [{"name": network, "channels": channels}],
    }
    config = parse_config(raw, base=tmp_path, environ={})
    return Agora(config, translator=MarkingTranslator(), environ=tokens(discord))
