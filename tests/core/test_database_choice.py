"""Which database Agora opens: a SQLite file by default, a PostgreSQL URL from the config or AGORA_DB."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from bot.app import files_dir
from bot.config import load_config
from bot.errors import StoreError
from bot.store import open_database, open_read_database
from bot.store.sql import SQLITE

URL = "postgresql://agora@db.example/agora"


def test_agora_db_overrides_the_config_with_a_server_url_kept_as_given(tmp_path: Path) -> None:
    cfg = tmp_path / "agora.toml"
    cfg.write_text('[agora]\ndatabase = "here.db"\n')
    config = load_config(cfg, environ={"AGORA_DB": URL})
    assert config.database == URL
    assert files_dir(config) == tmp_path / "files"  # beside the config file: a server has no directory
    assert config.state_path == tmp_path / "agora.db"


def test_a_server_url_in_the_config_file_is_not_taken_for_a_relative_path(tmp_path: Path) -> None:
    cfg = tmp_path / "agora.toml"
    cfg.write_text(f'[agora]\ndatabase = "{URL}"\n')
    assert load_config(cfg, environ={}).database == URL
    assert load_config(cfg, environ={"AGORA_DB": "other.db"}).database == tmp_path / "other.db"


def test_a_postgresql_url_without_postgresql_support_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bot.store.postgres", None)  # as if agora[postgres] were not installed
    with pytest.raises(StoreError, match=r"install agora\[postgres\]"):
        open_database(URL)
    with pytest.raises(StoreError, match=r"install agora\[postgres\]"):
        open_read_database(URL)


def test_a_sqlite_file_is_migrated_once_and_recorded_where_sqlite_utils_records_it(tmp_path: Path) -> None:
    path = tmp_path / "agora.db"
    open_database(path).close()
    db = open_database(path)
    assert db.dialect == SQLITE and db.url == str(path)
    applied = [r["name"] for r in db.query("select name from _sqlite_migrations where migration_set = 'agora'")]
    assert applied == sorted(set(applied)) and applied[0] == "m001_core" and "m008_drop_installs" in applied
    assert [r[0] for r in db.execute("pragma journal_mode").fetchall()] == ["wal"]
    assert [r[0] for r in db.execute("pragma foreign_keys").fetchall()] == [1]
    db.close()


def test_a_connection_state_table_made_on_first_use_by_an_older_version_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "agora.db"
    old = sqlite3.connect(path)
    old.execute(
        "create table connection_state (adapter text primary key, state text, since float, "
        "last_error text, reconnects integer, pid integer, updated_at float)"
    )
    old.execute("insert into connection_state (adapter, state) values ('slack', 'up')")
    old.commit()
    old.close()
    db = open_database(path)
    assert [r["state"] for r in db.query("select state from connection_state")] == ["up"]
    assert any(r["name"] == "m010_connection_state" for r in db.query("select name from _sqlite_migrations"))
    db.close()


def test_an_in_memory_database_has_no_second_connection_to_read_through() -> None:
    with pytest.raises(StoreError, match="in-memory"):
        open_read_database(":memory:")
