"""Fixtures: the fake Discord, a small world in it, and a real adapter connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.discord import DiscordAdapter, create
from bot.commands import COMMANDS
from bot.events import ChannelRef, Event, Reply
from bot.i18n import default_catalog
from bot.model import Channel
from bot.ports import AdapterContext
from bot.richtext import plain
from bot.store import open_database
from bot.store.sql import Database
from testing.discord_server import FakeDiscord
from testing.polling import BUDGET, eventually


@dataclass
class World:
    """One guild with two linked city channels, one unlinked channel and two members."""

    fake: FakeDiscord
    guild: int
    boston: int
    lima: int
    lobby: int
    ana: int
    bob: int

    def ref(self, channel: int) -> ChannelRef:
        return ChannelRef("discord", str(self.guild), str(channel))


@dataclass
class Sink:
    """Collects what the adapter hands the core; answers commands like the core would."""

    events: list[Event] = field(default_factory=list)
    answer: Callable[[Event], Reply | None] | None = None

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        reply = getattr(event, "reply", None)
        if reply is not None and self.answer is not None:
            answer = self.answer(event)
            if answer is not None:
                await reply(answer)

    async def wait(self, count: int = 1, kind: type | None = None, timeout: float = BUDGET) -> list[Any]:
        """Wait until ``count`` events (of ``kind``) arrived; return them."""

        def arrived() -> list[Any] | None:
            found = [e for e in self.events if kind is None or isinstance(e, kind)]
            return found if len(found) >= count else None

        what = f"{count} {kind.__name__ if kind else 'event'}(s) in the sink"
        found: list[Any] = await eventually(arrived, what, timeout)
        return found


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    yield server
    await server.stop()


@pytest.fixture
def world(fake: FakeDiscord) -> World:
    guild = fake.add_guild("Network of Cities")
    return World(
        fake=fake,
        guild=guild,
        boston=fake.add_channel(guild, "boston"),
        lima=fake.add_channel(guild, "lima"),
        lobby=fake.add_channel(guild, "lobby"),
        ana=fake.add_user("Ana"),
        bob=fake.add_user("Bob"),
    )


@pytest.fixture
def db() -> Database:
    """The core's schema (the gateway lease lives there), in memory."""
    return open_database(":memory:")


def context(world: World, db: Database, token: str | None = None) -> AdapterContext:
    linked = [
        Channel(world.ref(world.boston), "wwc", "Boston", "en", country="US"),
        Channel(world.ref(world.lima), "wwc", "Lima", "es", country="PE"),
    ]
    return AdapterContext(
        db=db,
        channels=lambda platform: [c for c in linked if c.ref.platform == platform],
        commands=COMMANDS,
        catalog=default_catalog(),
        environ={"DISCORD_TOKEN": world.fake.token if token is None else token},
    )


def table(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "api_base": world.fake.api_base,
        "gateway_url": world.fake.gateway_url,
        "guild_ready_timeout": 0.05,
        "reidentify_delay": 0.0,
        "request_timeout": 5.0,
        "connect_timeout": 10.0,
        **extra,
    }


@pytest.fixture
async def connect(world: World, db: Database) -> AsyncIterator[Callable[..., Any]]:
    """Start adapters on demand (several per test, e.g. around a restart); all stopped at the end."""
    started: list[DiscordAdapter] = []

    async def start(sink: Sink | None = None, **extra: Any) -> tuple[DiscordAdapter, Sink]:
        adapter = create(table(world, **extra), context(world, db))
        sink = sink or Sink(answer=lambda event: Reply(plain(f"ok: {getattr(event, 'args', '')}")))
        await adapter.start(sink)
        started.append(adapter)
        return adapter, sink

    yield start
    for adapter in started:
        await adapter.stop()


@pytest.fixture
async def running(connect: Callable[..., Any]) -> tuple[DiscordAdapter, Sink]:
    adapter, sink = await connect()
    return adapter, sink
