"""`agora slack manifest`: generated from the command table, Socket Mode or HTTP."""

from __future__ import annotations

import json

from click.testing import CliRunner

from adapters.slack.cli import slack
from adapters.slack.manifest import build_manifest, required_scopes
from bot.commands import COMMANDS
from bot.i18n import default_catalog


def run(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(slack, ["manifest", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_socket_mode_manifest() -> None:
    m = run()
    features = m["features"]
    assert isinstance(features, dict)
    commands = {c["command"]: c for c in features["slash_commands"]}
    catalog = default_catalog()
    assert set(commands) == {"/ask", "/agora"}
    assert commands["/ask"]["description"] == catalog.t("cmd.ask", "en")
    assert commands["/ask"]["usage_hint"] == "<question>"
    subs = [s.name for s in COMMANDS if s.group == "agora"]
    assert commands["/agora"]["usage_hint"].split(" | ") == subs
    assert all("url" not in c for c in commands.values())
    assert features["shortcuts"] == [
        {
            "name": "Translate for me",
            "type": "message",
            "callback_id": "translate_for_me",
            "description": "Show this message in your own language, only to you",
        }
    ]
    settings = m["settings"]
    assert isinstance(settings, dict)
    assert settings["socket_mode_enabled"] is True
    assert settings["event_subscriptions"] == {"bot_events": ["message.channels", "message.groups"]}
    scopes = m["oauth_config"]["scopes"]["bot"]  # type: ignore[index]
    for needed in (
        "chat:write",
        "chat:write.customize",
        "commands",
        "channels:history",
        "groups:history",
        "channels:read",
        "users:read",
        "usergroups:read",
        "files:write",
    ):
        assert needed in scopes
    assert tuple(scopes) == required_scopes()


def test_http_manifest_points_every_url_at_agora() -> None:
    url = "https://agora.example.org/slack/events"
    m = run("--http", url, "--oauth")
    settings = m["settings"]
    assert isinstance(settings, dict)
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"] == url
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}
    assert all(c["url"] == url for c in m["features"]["slash_commands"])  # type: ignore[index]
    assert m["oauth_config"]["redirect_urls"] == ["https://agora.example.org/slack/oauth_redirect"]  # type: ignore[index]


def test_oauth_needs_http() -> None:
    result = CliRunner().invoke(slack, ["manifest", "--oauth"])
    assert result.exit_code != 0 and "--http" in result.output


def test_description_limits_hold() -> None:
    m = build_manifest(COMMANDS, default_catalog())
    info = m["display_information"]
    assert len(info["description"]) <= 140 and 175 <= len(info["long_description"]) <= 4000
    for command in m["features"]["slash_commands"]:
        assert len(command["description"]) <= 2000 and len(command["usage_hint"]) <= 1000
