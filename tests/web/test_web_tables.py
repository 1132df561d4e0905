"""The web adapter's table upgrades through its own named migrations, like the core's and Slack's."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from adapters.web import tables
from bot.store import open_database
from bot.store.sql import SqliteDatabase
from tests.database import sqlite_connection

OLD_COLUMNS = {"id": int, "channel": str, "text": str, "nonce": str, "deleted": int, "created_at": float}


def opened(path: Path) -> sqlite_utils.Database:
    """The migrated database seen through sqlite-utils, to look at its tables."""
    return sqlite_utils.Database(sqlite_connection(open_database(path)))


def test_a_fresh_database_gets_the_whole_table_once(tmp_path: Path) -> None:
    migrated = open_database(tmp_path / "agora.db")
    tables.apply(migrated)
    tables.apply(migrated)
    db = sqlite_utils.Database(sqlite_connection(migrated))
    assert "files" in db.table("web_messages").columns_dict
    assert {tuple(i.columns) for i in db.table("web_messages").indexes} >= {("nonce",), ("channel", "id")}
    applied = [r["name"] for r in db.query("select name from _sqlite_migrations where migration_set = 'agora-web'")]
    assert applied == ["m001_web_messages", "m002_files"]


def test_a_table_made_before_files_keeps_its_rows_and_gains_the_column(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "agora.db")
    db.table("web_messages").create(OLD_COLUMNS, pk="id")  # what the created-if-missing code once made
    db.table("web_messages").insert({"id": 7, "channel": "boston", "text": "hi", "nonce": "n7", "deleted": 0})
    tables.apply(SqliteDatabase(db.conn))
    assert "files" in db.table("web_messages").columns_dict
    assert db.table("web_messages").get(7)["text"] == "hi"


def test_the_unused_installs_table_is_dropped_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "agora.db"
    db = opened(path)
    assert "installs" not in db.table_names()
    db.table("installs").create({"platform": str, "space": str}, pk=("platform", "space"))
    db.execute("delete from _sqlite_migrations where name = 'm008_drop_installs'")
    db.conn.commit()
    db.close()
    assert "installs" not in opened(path).table_names()
