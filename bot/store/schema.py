"""One way to bring a database's tables up to date, whatever the engine.

Every set of tables (the core's, each adapter's) is a named sequence of steps
applied once each, in order, and recorded in the database. On SQLite the steps
are sqlite-utils ``Migrations`` (existing databases record them in
``_sqlite_migrations`` and upgrade unchanged); on PostgreSQL they are plain SQL
statements ``(name, sql)`` applied by :mod:`bot.store.postgres`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.errors import StoreError
from bot.store.sql import POSTGRESQL, SQLITE, Database, SqliteDatabase

PostgresSteps = Sequence[tuple[str, str]]


def apply_migrations(db: Database, sqlite_migrations: Migrations, postgres_steps: PostgresSteps) -> None:
    """Apply the steps of one set not yet applied, inside one write transaction.

    A second process starting at once waits for the lock, then finds them applied.
    """
    with db.transaction():
        if db.dialect == SQLITE:
            assert isinstance(db, SqliteDatabase)
            sqlite_migrations.apply(sqlite_utils.Database(db.conn))
        elif db.dialect == POSTGRESQL:
            postgres_module().apply_steps(db, sqlite_migrations.name, postgres_steps)
        else:
            raise StoreError(f"no migrations for a {db.dialect} database")


def postgres_module() -> Any:
    """:mod:`bot.store.postgres`, imported only when a PostgreSQL database is used."""
    try:
        return importlib.import_module("bot.store.postgres")
    except ImportError as exc:
        raise StoreError(f"PostgreSQL support is not available ({exc}): install agora[postgres]") from exc
