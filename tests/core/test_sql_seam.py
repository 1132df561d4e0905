"""The SQL seam's helpers and transactions (the PostgreSQL backend runs the same checks)."""

from __future__ import annotations

import sqlite3

import pytest

from bot.store.sql import SqliteDatabase, insert, one, placeholders, qmark_to_format, scalar, update, upsert


@pytest.fixture
def db() -> SqliteDatabase:
    db = SqliteDatabase(sqlite3.connect(":memory:"))
    db.execute("create table t (id integer primary key, a text unique, b integer)")
    return db


def test_insert_returns_the_new_id_and_upsert_updates_by_key(db: SqliteDatabase) -> None:
    first = insert(db, "t", {"a": "x", "b": 1}, returning="id")
    second = insert(db, "t", {"a": "y", "b": 2}, returning="id")
    upsert(db, "t", {"a": "x", "b": 5}, key=["a"])
    assert second == first + 1
    assert one(db, "select b from t where id = ?", [first]) == {"b": 5}
    assert update(db, "t", {"a": "y"}, {"b": 9}) == 1
    assert scalar(db, "select b from t where a = ?", ["y"]) == 9
    assert scalar(db, "select count(*) from t where id in (" + placeholders(2) + ")", [first, second]) == 2


def test_a_failed_inner_transaction_rolls_back_only_its_savepoint(db: SqliteDatabase) -> None:
    with db.transaction():
        insert(db, "t", {"a": "kept", "b": 1})
        with pytest.raises(ValueError), db.transaction():
            insert(db, "t", {"a": "lost", "b": 2})
            raise ValueError
        assert db.in_transaction
    assert not db.in_transaction
    assert [r["a"] for r in db.query("select a from t")] == ["kept"]


def test_a_failed_outer_transaction_leaves_nothing(db: SqliteDatabase) -> None:
    with pytest.raises(ValueError), db.transaction():
        insert(db, "t", {"a": "lost", "b": 2})
        raise ValueError
    assert scalar(db, "select count(*) from t") == 0


def test_qmarks_become_format_marks_outside_literals() -> None:
    sql = "select * from t where a = ? and b like '%?x' and c = ? and d like ? || '%'"
    assert qmark_to_format(sql) == "select * from t where a = %s and b like '%%?x' and c = %s and d like %s || '%%'"
