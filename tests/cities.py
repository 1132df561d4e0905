"""The cities and platforms the cross-platform end-to-end tests share, each with one real Agora.

Lima on the fake Discord (es), Boston on the fake Slack or the web playground (en), Recife on
the web playground (pt), linked in one network, with the marking translator so each copy shows
its language. Everything is stopped on the way out.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.app import Agora
from testing.configs import marking_agora
from testing.discord_server import FakeDiscord
from testing.slack_server import TEAM, FakeSlack

SLACK_BOSTON = "C0BOSTON"
WEB_BOSTON = {"ref": "web:demo/boston", "city": "Boston", "lang": "en", "country": "US"}
WEB_RECIFE = {"ref": "web:demo/recife", "city": "Recife", "lang": "pt", "country": "BR"}


@dataclass(frozen=True, slots=True)
class Cities:
    app: Agora
    discord: FakeDiscord
    lima: int  # Lima's channel on the fake Discord
    ana: int  # a Discord user in Lima
    slack: FakeSlack | None = None  # Sam (U0SAM, who created Boston's channel) and Bia (U0BIA) are on it


@contextlib.asynccontextmanager
async def boston_and_lima(tmp_path: Path) -> AsyncIterator[Cities]:
    """Boston on the web playground, Lima on Discord."""
    async with _discord_lima() as (discord, guild, lima, ana):
        app = marking_agora(tmp_path, [WEB_BOSTON, _lima(guild, lima)], discord=discord)
        async with _running(app):
            yield Cities(app, discord, lima, ana)


@contextlib.asynccontextmanager
async def three_cities(tmp_path: Path) -> AsyncIterator[Cities]:
    """Lima on Discord, Boston on Slack, Recife on the web playground."""
    slack = FakeSlack(hang_seconds=5.0)
    slack.add_user("U0SAM", "Sam", locale="en-US")
    slack.add_user("U0BIA", "Bia", locale="pt-BR")
    slack.add_channel(SLACK_BOSTON, "agora-boston", creator="U0SAM")
    async with _discord_lima() as (discord, guild, lima, ana):
        await slack.start()
        try:
            boston = {"ref": f"slack:{TEAM}/{SLACK_BOSTON}", "city": "Boston", "lang": "en", "country": "US"}
            app = marking_agora(tmp_path, [_lima(guild, lima), boston, WEB_RECIFE], slack=slack, discord=discord)
            async with _running(app):
                yield Cities(app, discord, lima, ana, slack)
        finally:
            await slack.stop()


@contextlib.asynccontextmanager
async def _discord_lima() -> AsyncIterator[tuple[FakeDiscord, int, int, int]]:
    discord = await FakeDiscord().start()
    try:
        guild = discord.add_guild("Cities of the Americas")
        yield discord, guild, discord.add_channel(guild, "lima"), discord.add_user("Ana")
    finally:
        await discord.stop()


@contextlib.asynccontextmanager
async def _running(app: Agora) -> AsyncIterator[Agora]:
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=1)


def _lima(guild: int, lima: int) -> dict[str, str]:
    return {"ref": f"discord:{guild}/{lima}", "city": "Lima", "lang": "es", "country": "PE"}
