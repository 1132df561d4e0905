"""The adapter's own tables: dedupe keys, positions, threads, OAuth installations and states."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation

from adapters.slack.installations import DbInstallationStore, DbStateStore
from adapters.slack.tables import SlackTables
from bot.store.sql import Database
from tests.database import bare_database, table_names

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    database = bare_database(backend, request)
    yield database
    database.close()


def test_dedupe_is_bounded(db: Database) -> None:
    tables = SlackTables(db, keep_seconds=60, prune_every=1000)
    assert tables.first_time("ev:1") and not tables.first_time("ev:1")
    db.execute("UPDATE slack_events SET at = ?", [time.time() - 3600])
    tables.first_time("ev:2")
    tables.prune()
    assert tables.count_keys() == 1 and not tables.seen_key("ev:1") and tables.seen_key("ev:2")


def test_only_own_tables_and_idempotent_migrations(db: Database) -> None:
    SlackTables(db)
    SlackTables(db)
    names = [n for n in table_names(db) if not n.startswith("_") and n != "agora_migrations"]
    assert names and all(n.startswith("slack_") for n in names)


def test_seen_only_moves_forward(db: Database) -> None:
    tables = SlackTables(db)
    tables.mark_seen("T1", "C1", "1700000000.000200")
    tables.mark_seen("T1", "C1", "1700000000.000100")
    assert tables.last_seen("T1", "C1") == "1700000000.000200"
    tables.mark_seen("T1", "C1", "1700000001.000000")
    assert tables.last_seen("T1", "C1") == "1700000001.000000"
    assert tables.last_seen("T1", "C2") is None


def test_recent_threads(db: Database) -> None:
    tables = SlackTables(db)
    now = time.time()
    for i in range(5):
        tables.touch_thread("T1", "C1", f"{now - 1000 + i:.6f}", f"{now - 100 + i:.6f}")
    tables.touch_thread("T1", "C1", "1.000000", f"{now - 30 * 86400:.6f}")  # long quiet
    recent = tables.recent_threads("T1", "C1", 3, since=now - 7 * 86400)
    assert recent == [f"{now - 1000 + i:.6f}" for i in (4, 3, 2)]


def test_a_thread_activity_only_moves_forward(db: Database) -> None:
    tables = SlackTables(db)
    now = time.time()
    tables.touch_thread("T1", "C1", "1.000000", f"{now - 10 * 86400:.6f}")
    tables.touch_thread("T1", "C1", "1.000000", f"{now - 60:.6f}")  # a new reply wakes the thread …
    tables.touch_thread("T1", "C1", "1.000000", f"{now - 20 * 86400:.6f}")  # … an older one found late does not
    assert tables.recent_threads("T1", "C1", 5, since=now - 86400) == ["1.000000"]


async def test_installation_store_round_trip(db: Database) -> None:
    store = DbInstallationStore(db, client_id="111.222")
    installation = Installation(
        app_id="A1",
        team_id="T2",
        team_name="Lima",
        bot_token="xoxb-old",
        bot_id="B2",
        bot_user_id="U2",
        bot_scopes="chat:write,commands",
        user_id="UINSTALLER",
        installed_at=time.time() - 10,
    )
    await store.async_save(installation)
    newer = Installation(team_id="T2", bot_token="xoxb-new", bot_id="B2", bot_user_id="U2", user_id="UOTHER")
    await store.async_save(newer)
    bot = await store.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_token == "xoxb-new" and bot.bot_scopes == []
    found = await store.async_find_installation(enterprise_id=None, team_id="T2", user_id="UINSTALLER")
    assert found is not None and found.user_id == "UINSTALLER" and found.bot_token == "xoxb-new"
    assert await store.async_find_bot(enterprise_id=None, team_id="T9") is None
    assert DbInstallationStore(db, client_id="other-app").teams() == []
    assert store.teams() == ["T2"]
    await store.async_delete_all(enterprise_id=None, team_id="T2")
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is None


async def test_state_store_is_one_time(db: Database) -> None:
    store = DbStateStore(db, expiration_seconds=600)
    state = await store.async_issue()
    assert await store.async_consume(state)
    assert not await store.async_consume(state)
    assert not await store.async_consume("made-up")
    expired = DbStateStore(db, expiration_seconds=-1)
    assert not await expired.async_consume(await expired.async_issue())
