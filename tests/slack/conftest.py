"""Fixtures for the Slack adapter tests: a fake Slack, a collecting sink, adapters wired to both."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import SlackAdapter, create
from bot.app import Agora
from bot.commands import COMMANDS
from bot.config import parse_config
from bot.events import ChannelRef, Event, IncomingMessage, MessageEdited
from bot.i18n import default_catalog
from bot.model import Channel
from bot.ports import AdapterContext
from bot.richtext import RichText
from bot.store.sql import Database, SqliteDatabase
from testing import configs
from testing.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack
from testing.translator import MarkingTranslator

BOSTON = "C0BOSTON"
LIMA = "C0LIMA"


class Sink:
    """Collects every event the adapter hands the core, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self.hook: Callable[[Event], Awaitable[None]] | None = None

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()
        if self.hook is not None:
            await self.hook(event)

    async def wait(self, count: int, timeout: float = 5.0) -> list[Event]:
        """Wait until at least ``count`` events arrived; returns them all."""

        async def until() -> None:
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.events

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def texts(self) -> list[RichText]:
        """The text of every message event so far (new messages and edits)."""
        return [e.text for e in self.events if isinstance(e, IncomingMessage | MessageEdited)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(hang_seconds=5.0)
    slack.add_user("U0ANA", "Ana", locale="en-US")
    slack.add_user("U0LUIS", "Luis", locale="es-419")
    slack.add_user("U0BIA", "Bia", locale="pt-BR")
    slack.add_user("U0ADMIN", "Admin", locale="en-US", is_admin=True)
    slack.add_channel(BOSTON, "agora-boston", creator="U0ANA")
    slack.add_channel(LIMA, "agora-lima", creator="U0LUIS")
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
def db() -> Database:
    return SqliteDatabase(sqlite3.connect(":memory:"))


def linked(*channels: str, team: str = TEAM) -> list[Channel]:
    return [Channel(ChannelRef("slack", team, c), "wwc", c, "en") for c in channels]


AdapterFactory = Callable[..., Awaitable[tuple[SlackAdapter, Sink]]]


@pytest.fixture
async def make_adapter(fake: FakeSlack, db: Database) -> AsyncIterator[AdapterFactory]:
    """Build and start an adapter against the fake; stopped at teardown."""
    started: list[SlackAdapter] = []

    async def build(
        *,
        start: bool = True,
        channels: list[Channel] | None = None,
        environ: dict[str, str] | None = None,
        database: Database | None = None,
        **config: Any,
    ) -> tuple[SlackAdapter, Sink]:
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
        env.update(environ or {})
        table: dict[str, Any] = {"api_url": fake.api_url, "timeout": 2}
        table.update(config)
        chans = channels if channels is not None else linked(BOSTON, LIMA)
        context = AdapterContext(
            db=database if database is not None else db,
            channels=lambda platform: list(chans) if platform == "slack" else [],
            commands=COMMANDS,
            catalog=default_catalog(),
            environ=env,
        )
        adapter = create(table, context)
        sink = Sink()
        if start:
            await adapter.start(sink)
            started.append(adapter)
        return adapter, sink

    yield build
    for adapter in started:
        await adapter.stop()


def slack_and_web_agora(fake: FakeSlack, tmp_path: Path) -> Agora:
    """An Agora (not started) linking Boston on the fake Slack with Guadalajara on the web playground."""
    raw = {
        "agora": {"database": str(tmp_path / "agora.db")},
        "adapters": configs.adapters(fake),
        "outbox": configs.FAST_OUTBOX,
        "networks": [
            {
                "name": "wwc",
                "channels": [
                    {"ref": f"slack:{TEAM}/{BOSTON}", "city": "Boston", "lang": "en", "country": "US"},
                    {"ref": "web:demo/guadalajara", "city": "Guadalajara", "lang": "es", "country": "MX"},
                ],
            }
        ],
    }
    return Agora(parse_config(raw, base=tmp_path, environ={}), translator=MarkingTranslator(), environ=configs.tokens())
