"""Opening the database named by ``[agora] database`` / ``AGORA_DB``: a SQLite file
(the embedded default), ``:memory:``, or a ``postgresql://`` URL.

Only this module and :mod:`bot.store.schema` know how each engine is opened;
everything else receives a :class:`~bot.store.sql.Database`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.errors import StoreError
from bot.store.migrations import migrations
from bot.store.schema import apply_migrations, postgres_module
from bot.store.sql import POSTGRESQL, Database, SqliteDatabase

BUSY_TIMEOUT_MS = 30000
MEMORY = ":memory:"
SERVER_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(target: Path | str) -> bool:
    """Whether ``target`` names a database server rather than a SQLite file."""
    return str(target).startswith(SERVER_SCHEMES)


def is_memory(target: Path | str) -> bool:
    return str(target) == MEMORY


def open_database(target: Path | str) -> Database:
    """Open (creating if needed) and migrate the database; StoreError says why it failed."""
    if is_server_url(target):
        postgres = postgres_module()
        db: Database = postgres.open_postgres(str(target))
        apply_migrations(db, migrations, postgres.CORE_STEPS)  # the core's schema in PostgreSQL's SQL
        return db
    try:
        sqlite = open_sqlite(target)
        apply_migrations(sqlite, migrations, ())
    except sqlite3.Error as exc:
        raise StoreError(f"database {target}: {exc}") from exc
    return sqlite


def open_sqlite(target: Path | str) -> SqliteDatabase:
    """A SQLite connection set up as Agora runs it: WAL, a long busy timeout, foreign keys,
    recursive triggers (as sqlite-utils has always set them: the FTS and count triggers rely on it)."""
    if is_memory(target):
        conn = sqlite3.connect(MEMORY, check_same_thread=False, isolation_level=None)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(target), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA recursive_triggers=ON")
    conn.execute("PRAGMA foreign_keys=ON")
    return SqliteDatabase(conn, str(target))


def open_read_database(target: Path | str) -> Database:
    """A connection for reads in a worker thread (see :mod:`bot.reads`).

    SQLite: a read-only connection of its own (``mode=ro`` plus ``query_only``),
    which WAL lets read while the main connection writes. PostgreSQL: whatever
    :mod:`bot.store.postgres` hands out for reads. An in-memory database cannot be
    opened twice: callers read through their main connection instead.
    """
    if is_server_url(target):
        reader: Database = postgres_module().open_postgres_reader(str(target))
        return reader
    if is_memory(target):
        raise StoreError("an in-memory database has no second connection to read through")
    try:
        conn = sqlite3.connect(
            f"{Path(target).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only=ON")
    except sqlite3.Error as exc:
        raise StoreError(f"database {target}: {exc}") from exc
    return SqliteDatabase(conn, str(target))


def open_reader_of(db: Database) -> Database:
    """A read connection (as :func:`open_read_database` opens) to the database ``db`` is connected to.

    On PostgreSQL ``db`` itself opens it, with the credentials it was opened with: :attr:`Database.url`
    shows none, so a reader cannot be opened from it.
    """
    if db.dialect == POSTGRESQL:
        reader: Database = postgres_module().reader_of(db)
        return reader
    return open_read_database(db.url)
