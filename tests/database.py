"""What tests need to see through the SQL seam: the whole database as text, the SQLite connection."""

from __future__ import annotations

import sqlite3

import pytest

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


def table_names(db: Database) -> list[str]:
    """The tables in ``db`` (its current schema on PostgreSQL), sorted."""
    if db.dialect == POSTGRESQL:
        sql = "select table_name from information_schema.tables where table_schema = current_schema()"
    else:
        sql = "select name from sqlite_master where type = 'table'"
    return sorted(str(name) for (name,) in db.execute(sql).fetchall())


def bare_database(backend: str, request: pytest.FixtureRequest) -> Database:
    """An empty database of ``backend`` without any of Agora's tables (for an adapter's own)."""
    if backend == POSTGRESQL:
        from bot.store.postgres import PostgresDatabase, connect

        url: str = request.getfixturevalue("postgres_url")
        return PostgresDatabase(connect(url), url)
    return SqliteDatabase(sqlite3.connect(":memory:"))


# The type families both engines are compared by (tests/test_adapter_schemas.py has SQLite's).
POSTGRES_FAMILIES = {"text": "text", "bigint": "integer", "integer": "integer", "double precision": "float"}
POSTGRES_FAMILIES |= {"bytea": "bytes", "tsvector": "tsvector"}
Shape = dict[str, tuple[dict[str, str], tuple[str, ...], set[tuple[bool, tuple[str, ...]]]]]
"""table -> (column -> type family, primary key, indexes as (unique, columns))"""


def postgres_shape(db: Database) -> Shape:
    """What the server really made: columns, primary keys and other indexes, from the catalogs."""
    shape: Shape = {}
    for table, column, kind in db.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = current_schema() order by table_name, ordinal_position"
    ).fetchall():
        shape.setdefault(table, ({}, (), set()))[0][column] = POSTGRES_FAMILIES[kind]
    for table, primary, unique, columns in db.execute(
        "select t.relname, i.indisprimary, i.indisunique, "
        "array(select a.attname from unnest(i.indkey) with ordinality k(n, pos) "
        "      join pg_attribute a on a.attrelid = t.oid and a.attnum = k.n order by k.pos) "
        "from pg_index i join pg_class t on t.oid = i.indrelid "
        "where t.relnamespace = current_schema()::regnamespace"
    ).fetchall():
        columns_of, _, indexes = shape[table]
        if primary:
            shape[table] = (columns_of, tuple(columns), indexes)
        else:
            indexes.add((bool(unique), tuple(columns)))
    return shape
