"""The Discord adapter's tables: named migration steps (old create-if-missing databases upgrade) and their writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from adapters.discord.tables import SentPost, Tables
from bot.store.sql import Database, SqliteDatabase
from tests.database import bare_database


def test_a_database_from_the_create_if_missing_days_keeps_its_rows(tmp_path: Path) -> None:
    old = sqlite_utils.Database(tmp_path / "agora.db")
    old.table("discord_seen").create({"channel_id": str, "guild_id": str, "last_id": int}, pk="channel_id")
    old.table("discord_seen").insert({"channel_id": "10", "guild_id": "1", "last_id": 500})
    old.close()

    db = SqliteDatabase(sqlite3.connect(tmp_path / "agora.db"))
    tables = Tables(db)
    Tables(db)  # a second start applies nothing twice
    assert tables.seen("10") == 500
    steps = [r["name"] for r in db.query("select name from _sqlite_migrations where migration_set = 'agora-discord'")]
    assert steps == ["m001_tables"]
    names = {r["name"] for r in db.query("select name from sqlite_master where type = 'table'")}
    assert {"discord_webhooks", "discord_seen", "discord_sent", "discord_sync"} <= names


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    database = bare_database(backend, request)
    yield database
    database.close()


@pytest.mark.usefixtures("backend")
def test_the_seen_mark_only_moves_forward(db: Database) -> None:
    tables = Tables(db)
    tables.advance("10", "1", 1_300_000_000_000_000_000)  # snowflakes need 64 bits
    tables.advance("10", "1", 1_200_000_000_000_000_000)
    assert tables.seen("10") == 1_300_000_000_000_000_000
    tables.advance("10", "1", 1_400_000_000_000_000_000)
    assert tables.seen("10") == 1_400_000_000_000_000_000


@pytest.mark.usefixtures("backend")
def test_a_post_recorded_again_replaces_the_first(db: Database) -> None:
    tables = Tables(db)
    tables.record_sent("n1", "10", "100", None)
    tables.thread_started("n1")
    assert tables.sent("n1") == SentPost("n1", "10", "100", None, True)
    tables.record_sent("n1", "10", "101", "7")
    assert tables.sent("n1") == SentPost("n1", "10", "101", "7", False)
    tables.save_webhook("10", "1", 55, "tok")
    tables.save_webhook("10", "1", 56, "tok2")
    assert tables.webhook("10") == (56, "tok2") and tables.webhook_ids() == {56}
    tables.save_sync("guild:1", "a")
    tables.save_sync("guild:1", "b")
    assert tables.synced("guild:1") == "b"
