"""Three cities on three platforms and one real Agora: the world the cross-platform end-to-end tests share.

Lima on the fake Discord (es), Boston on the fake Slack (en), Recife on the web playground (pt),
linked in one network, with the marking translator so each copy shows its language.
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


@dataclass(frozen=True, slots=True)
class ThreeCities:
    app: Agora
    discord: FakeDiscord
    slack: FakeSlack
    lima: int  # Lima's channel on the fake Discord
    ana: int  # a Discord user in Lima (Slack has Sam, U0SAM, who created Boston's channel, and Bia, U0BIA)


@contextlib.asynccontextmanager
async def three_cities(tmp_path: Path) -> AsyncIterator[ThreeCities]:
    """The fakes and a started Agora; everything stopped on the way out."""
    discord = await FakeDiscord().start()
    guild = discord.add_guild("Cities of the Americas")
    lima = discord.add_channel(guild, "lima")
    ana = discord.add_user("Ana")
    slack = FakeSlack(hang_seconds=5.0)
    slack.add_user("U0SAM", "Sam", locale="en-US")
    slack.add_user("U0BIA", "Bia", locale="pt-BR")
    slack.add_channel(SLACK_BOSTON, "agora-boston", creator="U0SAM")
    await slack.start()
    channels = [
        {"ref": f"discord:{guild}/{lima}", "city": "Lima", "lang": "es", "country": "PE"},
        {"ref": f"slack:{TEAM}/{SLACK_BOSTON}", "city": "Boston", "lang": "en", "country": "US"},
        {"ref": "web:demo/recife", "city": "Recife", "lang": "pt", "country": "BR"},
    ]
    app = marking_agora(tmp_path, channels, slack=slack, discord=discord)
    await app.start()
    try:
        yield ThreeCities(app, discord, slack, lima, ana)
    finally:
        await app.stop(grace=1)
        await slack.stop()
        await discord.stop()
