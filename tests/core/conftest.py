from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Agora
from bot.config import Config, parse_config
from bot.events import Author, ChannelRef, CommandInvoked, Reply
from bot.testing import CollectingAdapter
from testing.polling import drain
from testing.translator import MarkingTranslator

BOSTON = ChannelRef("fake", "s", "boston")
GDL = ChannelRef("fake", "s", "gdl")
RECIFE = ChannelRef("fake", "s", "recife")


def demo_config(db: Path, **agora: Any) -> Config:
    """Three linked cities; ``db`` is the SQLite file and anchors local files (its directory), unless
    ``database=`` names a server database instead."""
    raw = {
        "agora": {"database": str(db), **agora},
        "outbox": {"backoff_base": 0.01, "backoff_max": 0.05},
        "networks": [
            {
                "name": "demo",
                "code": "DEMOCODE",
                "channels": [
                    {"ref": str(BOSTON), "city": "Boston", "lang": "en", "country": "US"},
                    {"ref": str(GDL), "city": "Guadalajara", "lang": "es", "country": "MX"},
                    {"ref": str(RECIFE), "city": "Recife", "lang": "pt", "country": "BR"},
                ],
            }
        ],
    }
    return parse_config(raw, base=db.parent, path=db.parent / "config.toml")


class Harness:
    """A running Agora over the collecting adapter."""

    def __init__(self, agora: Agora, adapter: CollectingAdapter, translator: MarkingTranslator) -> None:
        self.agora = agora
        self.adapter = adapter
        self.translator = translator

    async def command(
        self, channel: ChannelRef, text: str, *, user: str = "Ana", can_manage: bool = True, locale: str | None = None
    ) -> Reply:
        replies: list[Reply] = []

        async def collect(reply: Reply) -> None:
            replies.append(reply)

        name, _, args = text.lstrip("/").partition(" ")
        await self.adapter.emit(
            CommandInvoked(
                channel, Author(f"u-{user}", user), name, args, collect, locale=locale, can_manage=can_manage
            )
        )
        assert len(replies) == 1
        return replies[0]

    async def drain(self) -> None:
        await drain(self.agora.outbox)


@pytest.fixture
def make_harness(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Harnesses over one database: a SQLite file in the test's temp dir, or, in a module that runs on
    both backends (``pytestmark = pytest.mark.usefixtures("backend")``), that backend's database."""
    made: list[Harness] = []
    on_backend = "backend" in request.fixturenames
    database = str(request.getfixturevalue("database_url")) if on_backend else str(tmp_path / "agora.db")

    async def make(**agora: Any) -> Harness:
        adapter = CollectingAdapter("fake")
        translator = MarkingTranslator()
        config = demo_config(tmp_path / "agora.db", **{"database": database, **agora})
        app = Agora(config, adapters={"fake": adapter}, translator=translator)
        await app.start()
        h = Harness(app, adapter, translator)
        made.append(h)
        return h

    make.made = made  # type: ignore[attr-defined]
    return make


@pytest.fixture
async def harness(make_harness: Callable[..., Any]) -> AsyncIterator[Harness]:
    h = await make_harness()
    yield h
    if h.agora.started:
        await h.agora.stop(grace=1)
