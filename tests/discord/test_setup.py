"""Configuration, names Discord accepts, the invite link and the CLI."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import discord
import pytest
from click.testing import CliRunner

from adapters.discord import create, endpoints
from adapters.discord.cli import discord as discord_cli
from adapters.discord.names import thread_name, webhook_username
from adapters.discord.permissions import NEEDED, invite_url, permissions
from adapters.discord.settings import DISCORD_API, Settings
from bot.cli import main as agora
from bot.errors import ConfigError
from bot.ports import load_plugin


def test_defaults_point_at_discord() -> None:
    settings = Settings.from_table({})
    assert settings.api_base == DISCORD_API and settings.gateway_url is None and not settings.custom_endpoints
    assert settings.sync == "guild" and settings.catchup_hours == 24


def test_a_compatible_server_is_configured_by_url() -> None:
    settings = Settings.from_table(
        {
            "api_base": "https://chat.example.org/api/v9/",
            "sync": "global",
            "guild_ids": ["123", 456],
            "catchup_hours": 0,
        }
    )
    assert settings.api_base == "https://chat.example.org/api/v9" and settings.custom_endpoints
    assert settings.guild_ids == (123, 456) and settings.catchup_hours == 0


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"api_bse": "x"}, "adapters.discord.api_bse"),
        ({"api_base": "ftp://x"}, "adapters.discord.api_base"),
        ({"gateway_url": "http://x"}, "adapters.discord.gateway_url"),
        ({"sync": "sometimes"}, "adapters.discord.sync"),
        ({"guild_ids": ["abc"]}, "adapters.discord.guild_ids"),
        ({"catchup_hours": -1}, "adapters.discord.catchup_hours"),
        ({"catchup_limit": True}, "adapters.discord.catchup_limit"),
        ({"webhook_name": "Discord relay"}, "adapters.discord.webhook_name"),
        ({"thread_archive_minutes": 30}, "adapters.discord.thread_archive_minutes"),
    ],
)
def test_bad_settings_name_their_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        Settings.from_table(table)


def test_the_core_finds_the_adapter_and_its_markup() -> None:
    assert load_plugin("agora.adapters", "discord") is create
    markup = load_plugin("agora.markup", "discord")
    assert markup.render(markup.parse("**hola** <@1>")) == "**hola** <@1>"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ana (Lima)", "Ana (Lima)"),
        ("  Ana\n  (Lima) ", "Ana (Lima)"),
        ("", "Agora"),
        ("everyone", "everyone ·"),
    ],
)
def test_webhook_usernames(name: str, expected: str) -> None:
    assert webhook_username(name) == expected


@pytest.mark.parametrize("name", ["Discord Fan (Quito)", "CLYDE", "mydiscordname", "Clyde Discord"])
def test_usernames_discord_refuses_keep_their_look(name: str) -> None:
    clean = webhook_username(name)
    assert "clyde" not in clean.lower() and "discord" not in clean.lower()
    assert len(clean) == len(name)


def test_long_names_and_titles_are_cut() -> None:
    assert len(webhook_username("x" * 200)) == 80
    assert len(thread_name("¿Pregunta larga? " * 20)) == 100
    assert thread_name("  \n ") == "Agora"


def test_the_invite_asks_for_exactly_what_is_needed() -> None:
    perms = permissions()
    expected = discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        manage_webhooks=True,
        read_message_history=True,
        attach_files=True,
        embed_links=True,
    )
    assert perms == expected and perms.value == 309774633984
    assert not perms.administrator and not perms.manage_messages and not perms.mention_everyone
    query = parse_qs(urlparse(invite_url("1234", guild_id="99")).query)
    assert query == {
        "client_id": ["1234"],
        "scope": ["bot applications.commands"],
        "permissions": [str(perms.value)],
        "guild_id": ["99"],
    }


def test_agora_discord_invite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_CLIENT_ID", "172150183260323840")
    result = CliRunner().invoke(agora, ["discord", "invite"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1].startswith("https://discord.com/oauth2/authorize?client_id=172150183260323840")
    assert "permissions=309774633984" in lines[-1]
    for _, label, _ in NEEDED:
        assert any(line.strip().startswith(f"- {label}:") for line in lines)
    assert CliRunner().invoke(discord_cli, ["invite", "--client-id", "abc"]).exit_code != 0


def test_endpoints_are_installed_once_per_process_and_restored() -> None:
    before = (discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY))
    endpoints.install("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway")
    try:
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        endpoints.install("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway")  # same: shared
        with pytest.raises(ConfigError, match="api_base"):
            endpoints.install("http://127.0.0.1:8/api/v10", "ws://127.0.0.1:8/gateway")
        endpoints.release()
        assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
    finally:
        endpoints.release()
    assert (discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)) == before
