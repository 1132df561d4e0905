"""Pointing discord.py at a Discord-compatible server (Spacebar, the test fake).

discord.py builds every REST URL from the class attribute
``discord.http.Route.BASE`` (bot calls, webhooks and interaction callbacks
alike), every avatar and asset URL from ``discord.asset.Asset.BASE``, and
opens the gateway at ``DiscordWebSocket.DEFAULT_GATEWAY``. All are process-
wide: they cannot differ between two clients in one process. So the adapter
sets them while it runs and puts Discord's values back when it stops, and
refuses to start a second adapter that wants other endpoints meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord
import yarl

from bot.errors import ConfigError


@dataclass
class _Installed:
    base: str
    gateway: str
    cdn: str
    users: int
    saved: tuple[str, yarl.URL, str]


_current: _Installed | None = None


def install(api_base: str, gateway_url: str, cdn_url: str = "https://cdn.discordapp.com") -> None:
    """Use these endpoints for every discord.py client in this process until :func:`release`."""
    global _current
    if _current is not None:
        if (_current.base, _current.gateway, _current.cdn) != (api_base, gateway_url, cdn_url):
            raise ConfigError(
                "adapters.discord.api_base: another Discord adapter in this process already uses "
                f"{_current.base}; discord.py supports one API base per process"
            )
        _current.users += 1
        return
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY, discord.asset.Asset.BASE)
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    discord.asset.Asset.BASE = cdn_url
    _current = _Installed(api_base, gateway_url, cdn_url, 1, saved)


def set_gateway(gateway_url: str) -> None:
    """Replace the gateway URL once it is known (asked from the server's ``/gateway/bot``)."""
    if _current is not None:
        _current.gateway = gateway_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def release() -> None:
    """Undo :func:`install` when its last user stops."""
    global _current
    if _current is None:
        return
    _current.users -= 1
    if _current.users <= 0:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY, discord.asset.Asset.BASE = (
            _current.saved
        )
        _current = None
