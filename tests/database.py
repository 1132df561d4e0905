"""What tests need to see through the SQL seam: the whole database as text, the SQLite connection."""

from __future__ import annotations

import sqlite3

from bot.store.sql import POSTGRESQL, Database, SqliteDatabase


def sqlite_connection(db: Database) -> sqlite3.Connection:
    """The sqlite3 connection under ``db`` (for tests that are about SQLite itself)."""
    assert isinstance(db, SqliteDatabase), f"a SQLite database was expected, not {db.dialect}"
    return db.conn


def dump(db: Database) -> str:
    """Every table's schema and rows as SQL text: two dumps are equal when nothing was written."""
    if db.dialect == POSTGRESQL:
        from testing.postgres import dump as dump_postgres

        return dump_postgres(db)
    return "\n".join(sqlite_connection(db).iterdump())
