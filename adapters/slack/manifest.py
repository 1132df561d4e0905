"""The Slack app manifest, generated from the command table.

Slash commands come from :data:`bot.commands.COMMANDS` with their English
catalog descriptions, so what Slack offers and what Agora parses cannot drift
apart; scopes, events and the "Translate for me" shortcut come from
``manifest.toml`` beside this module. Without a URL the app runs in Socket
Mode; with ``--http URL`` every request URL points at Agora's endpoint.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from bot.commands import GROUPS, CommandSpec
from bot.i18n import Catalog

DATA = Path(__file__).with_name("manifest.toml")
SHORTCUT_ID = "translate_for_me"


@cache
def manifest_data() -> dict[str, Any]:
    """The fixed parts, loaded once."""
    with DATA.open("rb") as fh:
        return tomllib.load(fh)


def required_scopes() -> tuple[str, ...]:
    """Bot scopes the adapter needs (``agora doctor`` compares them with the token's)."""
    return tuple(manifest_data()["bot"]["scopes"])


def _description(catalog: Catalog, key: str, fallback: str) -> str:
    return catalog.strings["en"].get(key) or catalog.strings["en"].get(fallback, "")


def slash_commands(commands: Sequence[CommandSpec], catalog: Catalog) -> list[dict[str, Any]]:
    """One Slack slash command per top-level group (``/ask``, ``/agora``)."""
    out: list[dict[str, Any]] = []
    for group in GROUPS:
        specs = [s for s in commands if (s.group or s.name) == group]
        if not specs:
            continue
        if len(specs) == 1 and specs[0].group is None:
            spec = specs[0]
            description = _description(catalog, spec.help_key, "cmd.help")
            hint = spec.usage().removeprefix("/" + spec.path).strip()
        else:
            description = _description(catalog, f"cmd.{group}", "cmd.help")
            hint = " | ".join(s.name for s in specs)
        out.append(
            {
                "command": "/" + group,
                "description": description[:2000],
                "usage_hint": hint[:1000],
                "should_escape": False,
            }
        )
    return out


def build_manifest(
    commands: Sequence[CommandSpec],
    catalog: Catalog,
    *,
    http_url: str | None = None,
    redirect_url: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The manifest as a dict (Slack accepts it as JSON).

    ``http_url`` is Agora's public events endpoint (``https://host/slack/events``);
    ``redirect_url`` the OAuth redirect, for apps installed in many workspaces.
    """
    data = manifest_data()
    app, bot = data["app"], data["bot"]
    commands_block = slash_commands(commands, catalog)
    if http_url:
        for command in commands_block:
            command["url"] = http_url
    shortcuts = [{k: s[k] for k in ("name", "type", "callback_id", "description")} for s in data.get("shortcuts", ())]
    settings: dict[str, Any] = {
        "event_subscriptions": {"bot_events": list(bot["events"])},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": http_url is None,
        "token_rotation_enabled": False,
    }
    if http_url:
        settings["event_subscriptions"]["request_url"] = http_url
        settings["interactivity"]["request_url"] = http_url
    oauth: dict[str, Any] = {"scopes": {"bot": list(bot["scopes"])}}
    if redirect_url:
        oauth["redirect_urls"] = [redirect_url]
    return {
        "_metadata": {"major_version": 2, "minor_version": 1},
        "display_information": {
            "name": name or app["name"],
            "description": app["description"],
            "long_description": app["long_description"],
            "background_color": app["background_color"],
        },
        "features": {
            "bot_user": {"display_name": name or bot["display_name"], "always_online": True},
            "shortcuts": shortcuts,
            "slash_commands": commands_block,
        },
        "oauth_config": oauth,
        "settings": settings,
    }


def default_redirect(http_url: str, redirect_path: str = "/slack/oauth_redirect") -> str:
    """The OAuth redirect beside the events endpoint (same host)."""
    return urljoin(http_url, redirect_path)
