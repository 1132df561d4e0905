"""The one seam between Agora and its SQL database: SQLite (embedded default) or PostgreSQL.

Everything that touches SQL — the core store, the adapters' tables, search,
reads — talks to a :class:`Database`. SQL is written once, in the subset both
engines run the same way, with ``?`` placeholders:

- ``insert … on conflict (…) do nothing / do update`` (never ``insert or ignore``),
- ``returning id`` instead of ``lastrowid``, ``coalesce`` instead of ``ifnull``,
- no ``rowid``, no SQLite-only functions; booleans stored as 0/1 integers,
  times as float epoch seconds, JSON as text, bytes as BLOB/``bytea``.

What differs by engine (full-text search, schema steps, a few pragmas) branches on
:attr:`Database.dialect`, in the store, never in callers.

Transactions: :meth:`Database.transaction` is a *write* transaction. On SQLite it
takes the write lock up front (``BEGIN IMMEDIATE``) so another process's writer
makes it wait (``busy_timeout``) instead of failing; on PostgreSQL it is a plain
``BEGIN``. Nested calls become savepoints. Outside a transaction every statement
commits on its own (autocommit), on both engines.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

SQLITE, POSTGRESQL = "sqlite", "postgresql"


class Cursor(Protocol):
    """What a statement leaves behind: both sqlite3's and psycopg's cursors fit."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """One connection to the database (used from one thread at a time)."""

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    @property
    def url(self) -> str:
        """Where it lives: a file path, ``:memory:`` or a ``postgresql://`` URL (without password)."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement with ``?`` placeholders; rows come back as tuples."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts (column name → value)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction (see the module docstring); nested calls are savepoints."""
        ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- helpers over any Database


def one(db: Database, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    """The first row as a dict, or None."""
    for row in db.query(sql, params):
        return row
    return None


def scalar(db: Database, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row, or None."""
    row = db.execute(sql, params).fetchone()
    return None if row is None else row[0]


def insert(db: Database, table: str, row: Mapping[str, Any], returning: str | None = None) -> Any:
    """Insert one row; with ``returning``, the value of that column in the new row (e.g. its id)."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    sql = f"insert into {table} ({columns}) values ({marks})"
    if returning is None:
        db.execute(sql, list(row.values()))
        return None
    return db.execute(f"{sql} returning {returning}", list(row.values())).fetchone()[0]


def upsert(db: Database, table: str, row: Mapping[str, Any], key: Sequence[str]) -> None:
    """Insert one row, or update the existing row with the same ``key`` columns."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in row if c not in key)
    action = f"do update set {updates}" if updates else "do nothing"
    db.execute(
        f"insert into {table} ({columns}) values ({marks}) on conflict ({', '.join(key)}) {action}",
        list(row.values()),
    )


def update(db: Database, table: str, where: Mapping[str, Any], fields: Mapping[str, Any]) -> int:
    """Set ``fields`` on the rows matching every ``where`` column; how many rows changed."""
    if not fields:
        return 0
    sets = ", ".join(f"{c} = ?" for c in fields)
    conditions = " and ".join(f"{c} = ?" for c in where)
    cur = db.execute(f"update {table} set {sets} where {conditions}", [*fields.values(), *where.values()])
    return cur.rowcount


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an ``in (…)`` list."""
    return ", ".join("?" for _ in range(count))


# ---------------------------------------------------------------- SQLite


class SqliteDatabase:
    """A :class:`Database` over one sqlite3 connection (autocommit; transactions are explicit)."""

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, url: str = ":memory:") -> None:
        conn.isolation_level = None
        self.conn = conn
        self.url = url
        self._depth = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        for values in cursor:
            yield dict(zip(names, values, strict=True))

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self.conn.in_transaction:
            name = f"s{self._depth}"
            self._depth += 1
            self.conn.execute(f"savepoint {name}")
            try:
                yield
            except BaseException:
                self.conn.execute(f"rollback to savepoint {name}")
                self.conn.execute(f"release savepoint {name}")
                raise
            else:
                self.conn.execute(f"release savepoint {name}")
            finally:
                self._depth -= 1
            return
        self.conn.execute("begin immediate")
        try:
            yield
            self.conn.execute("commit")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("rollback")
            raise

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------- placeholders for servers


_QMARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


def qmark_to_format(sql: str) -> str:
    """``?`` → ``%s`` outside quoted literals and every ``%`` → ``%%``, for drivers using the
    format paramstyle (psycopg parses the whole statement, literals included, when given parameters)."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")

    return _QMARK.sub(swap, sql)
