"""The PostgreSQL store: schema steps, the core schema against SQLite's, search, counts, outbox order."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlite_utils import Database as SqliteUtilsDatabase

from bot.errors import StoreError
from bot.store import open_database
from bot.store.migrations import migrations
from bot.store.postgres import (
    MIGRATIONS_TABLE,
    PostgresDatabase,
    apply_steps,
    connect,
    redact,
)
from bot.store.postgres_schema import CORE_STEPS, EXPECTED_COUNTS
from bot.store.postgres_search import PostgresFullText, best_matches, common_words, tsquery
from bot.store.sql import insert, scalar
from testing.polling import wait_until
from testing.postgres import Cluster
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness
from tests.database import Shape, postgres_shape

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(postgres_url: str) -> Iterator[PostgresDatabase]:
    database = open_database(postgres_url)
    assert isinstance(database, PostgresDatabase)
    yield database
    database.close()


def applied(db: PostgresDatabase, set_name: str) -> list[str]:
    rows = db.query(
        f"select name from {MIGRATIONS_TABLE} where migration_set = ? order by applied_at, name", [set_name]
    )
    return [r["name"] for r in rows]


# ---------------------------------------------------------------- schema steps


def test_steps_apply_once_in_order_and_a_second_run_applies_none(postgres_url: str) -> None:
    db = PostgresDatabase(connect(postgres_url), postgres_url)
    steps = [
        ("s1", "create table a (x integer)"),
        ("s2", ""),
        ("s3", "insert into a values (1); insert into a values (2)"),
    ]
    assert apply_steps(db, "demo", steps) == ["s1", "s2", "s3"]
    assert apply_steps(db, "demo", steps) == []
    assert apply_steps(db, "demo", [*steps, ("s4", "insert into a values (3)")]) == ["s4"]
    assert scalar(db, "select count(*) from a") == 3
    assert applied(db, "demo") == ["s1", "s2", "s3", "s4"]
    db.close()


def test_a_failing_step_leaves_its_whole_set_unapplied(postgres_url: str) -> None:
    db = PostgresDatabase(connect(postgres_url), postgres_url)
    steps = [("s1", "create table a (x integer)"), ("s2", "insert into nowhere values (1)")]
    with pytest.raises(StoreError, match=r"migration demo/s2: .*\[42P01\]"):
        apply_steps(db, "demo", steps)
    assert not db.in_transaction
    assert scalar(db, "select to_regclass('a')") is None
    assert apply_steps(db, "demo", steps[:1]) == ["s1"]
    db.close()


def test_replicas_starting_at_once_apply_the_core_schema_once(postgres_url: str) -> None:
    start = threading.Barrier(4)

    def open_one(_: int) -> int:
        start.wait()
        db = open_database(postgres_url)
        try:
            return int(scalar(db, f"select count(*) from {MIGRATIONS_TABLE}"))
        finally:
            db.close()

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(open_one, range(4)))
    assert counts == [len(CORE_STEPS)] * 4


SQLITE_FAMILIES = {"TEXT": "text", "INTEGER": "integer", "FLOAT": "float", "REAL": "float", "BLOB": "bytes"}


def sqlite_shape(db: SqliteUtilsDatabase) -> Shape:
    shape: Shape = {}
    for name in db.table_names():
        if name.startswith(("_", "sqlite_")) or "_fts" in name:
            continue
        info = db.execute(f"pragma table_info([{name}])").fetchall()
        columns = {column: SQLITE_FAMILIES[kind.upper()] for _, column, kind, *_ in info}
        key = tuple(row[1] for row in sorted(info, key=lambda row: row[5]) if row[5])
        indexes = set()
        for _, index, unique, origin, _partial in db.execute(f"pragma index_list([{name}])").fetchall():
            if origin == "c":
                columns_of = tuple(r[2] for r in db.execute(f"pragma index_info([{index}])").fetchall())
                indexes.add((bool(unique), columns_of))
        shape[name] = (columns, key, indexes)
    return shape


def test_the_core_schema_is_sqlites_table_for_table(db: PostgresDatabase, tmp_path: Path) -> None:
    """Tables, column types, primary keys and indexes: the end state of the SQLite steps (plus what
    PostgreSQL searches by), under the same step names."""
    lite = SqliteUtilsDatabase(sqlite3.connect(tmp_path / "lite.db"))
    migrations.apply(lite)
    expected = sqlite_shape(lite)
    made = postgres_shape(db)
    made.pop(MIGRATIONS_TABLE)
    for searched in ("messages", "message_translations"):  # PostgreSQL's full-text column and its index
        columns, _, indexes = made[searched]
        assert columns.pop("search_vector") == "tsvector"
        indexes.remove((False, ("search_vector",)))
    assert made == expected
    assert [name for name, _ in CORE_STEPS] == [m.name for m in migrations._migrations]


def test_a_wrong_password_is_a_store_error_that_does_not_show_it(postgres_url: str) -> None:
    wrong = postgres_url.replace("@127.0.0.1", "-wrong@127.0.0.1")
    with pytest.raises(StoreError) as caught:
        open_database(wrong)
    assert "-wrong" not in str(caught.value)
    assert "password authentication failed" in str(caught.value)


def test_redact_drops_the_password_wherever_it_is() -> None:
    assert redact("postgresql://u:s3cret@h:5432/db?sslmode=require") == "postgresql://u@h:5432/db?sslmode=require"
    assert redact("postgresql://u@h/db?password=s3cret&x=1") == "postgresql://u@h/db?x=1"
    assert redact("postgresql:///db?password=s3cret") == "postgresql:///db"
    assert redact("postgresql:///db") == "postgresql:///db"


# ---------------------------------------------------------------- search


def add_message(
    db: PostgresDatabase, plain: str, *, network: str = "n", kind: str = "question", **extra: object
) -> int:
    row = {
        "network": network,
        "channel": "web:x/c",
        "kind": kind,
        "text": "[]",
        "plain": plain,
        "lang": "es",
        "topics": "[]",
        "created_at": 86400.0 * 3 + 5,
        "deleted": 0,
        **extra,
    }
    return int(insert(db, "messages", row, returning="id"))


def test_search_ignores_accents_and_case_matches_prefixes_and_ranks_fuller_matches_first(db: PostgresDatabase) -> None:
    both = add_message(db, "¿Cómo financian la VIVIENDA pública?")
    one_word = add_message(db, "Vivienda social en Recife")
    add_message(db, "Otra cosa")
    add_message(db, "Vivienda en otra red", network="other")
    add_message(db, "Vivienda: aviso", kind="notice")
    hits = best_matches(db, "messages", tsquery(["publica", "vivi"], prefix_from=4), "n", 10)
    assert [message_id for message_id, _ in hits] == [both, one_word]
    assert hits[0][1] < hits[1][1] < 0  # lower is better, as with bm25
    assert best_matches(db, "messages", tsquery(["vivi"]), "n", 10) == []  # no prefix: whole words only


def test_search_reads_stored_translations_too(db: PostgresDatabase) -> None:
    question = add_message(db, "Como financiar habitação?")
    insert(db, "message_translations", {"message_id": question, "lang": "en", "plain": "How to fund housing?"})
    hits = best_matches(db, "message_translations", tsquery(["housing"]), "n", 10, questions_only=True)
    assert [message_id for message_id, _ in hits] == [question]


def test_common_words_are_counted_up_to_the_limit(db: PostgresDatabase) -> None:
    for i in range(3):
        add_message(db, f"agua potable {i}")
    add_message(db, "agua de lluvia")
    assert common_words(db, "messages", ["agua", "potable", "lluvia", "nada"], 3) == {"agua"}
    assert common_words(db, "messages", ["Água"], 3) == {"Água"}  # folded like the index


def test_words_that_look_like_operators_are_only_words(db: PostgresDatabase) -> None:
    add_message(db, "it's a & b | c")
    query = tsquery(["it's", "&", "|", "!", "b"])
    assert len(best_matches(db, "messages", query, "n", 10)) == 1


def test_full_text_finds_relayed_messages_and_questions_like_fts5_does(db: PostgresDatabase) -> None:
    question = add_message(db, "¿Dónde reciclan vidrio?")
    answer = add_message(db, "Reciclamos vidrio en Recife", kind="reply", root_id=question)
    other = add_message(db, "Vidrio y papel", kind="question")
    insert(db, "message_translations", {"message_id": question, "lang": "en", "plain": "Where do they recycle glass?"})
    text = PostgresFullText(db)
    found = text.relayed("n", ["recic", "glass"])
    assert set(found) == {question, answer} and all(score > 0 for score in found.values())
    assert text.relayed("n", []) == {}
    assert text.questions("n", ["vidrio", "glass"], 10, 1000) == [question, other]  # two words beat one
    assert text.questions("n", ["vidrio", "glass"], 10, 1000, exclude=question) == [other]
    assert text.questions("n", ["vidrio"], 10, 2) == []  # in 3 rows: too common to search by


# ---------------------------------------------------------------- per-day counts


def test_count_triggers_follow_every_change_of_a_message(db: PostgresDatabase) -> None:
    def counts() -> list[tuple[object, ...]]:
        return db.execute("select * from topic_day_counts order by 1, 2, 3, 4, 5, 6, 7").fetchall()

    def expected() -> list[tuple[object, ...]]:
        return db.execute(EXPECTED_COUNTS).fetchall()

    question = add_message(db, "q", topics='["housing", "water"]', city="Recife", country="BR")
    reply = add_message(db, "r", topics='["housing"]', root_id=question)
    add_message(db, "n", kind="notice", topics='["housing"]')
    assert counts() == expected() != []
    db.execute("update messages set topics = ? where id = ?", ['["transit"]', question])
    assert counts() == expected()
    db.execute("update messages set created_at = created_at + 86400 where id = ?", [reply])
    assert counts() == expected()
    db.execute("update messages set deleted = 1 where id = ?", [reply])
    assert counts() == expected()
    db.execute("delete from messages where id = ?", [reply])
    db.execute("update messages set deleted = 1 where id = ?", [question])
    assert counts() == expected() == []


# ---------------------------------------------------------------- outbox order


def test_outbox_rows_of_one_network_commit_in_id_order(db: PostgresDatabase, postgres_url: str) -> None:
    """A second writer into the same network waits for the first to commit, then gets a larger id;
    a writer into another network does not wait."""
    for network, refs in (("n1", ["web:x/a", "web:x/b"]), ("n2", ["web:x/c"])):
        insert(db, "networks", {"name": network})
        for ref in refs:
            row = {"ref": ref, "network": network, "platform": "web", "city": ref, "lang": "en", "mode": "mirror"}
            insert(db, "channels", row)
    other = PostgresDatabase(connect(postgres_url), postgres_url)
    enqueue = "insert into outbox (channel, op, state, created_at) values (?, 'send', 'pending', 0) returning id"
    with ThreadPoolExecutor(1) as pool, db.transaction():
        first = db.execute(enqueue, ["web:x/a"]).fetchone()[0]
        assert pool.submit(lambda: other.execute(enqueue, ["web:x/c"]).fetchone()[0]).result(timeout=30) > first
        pid = other.conn.info.backend_pid
        waiting = pool.submit(lambda: other.execute(enqueue, ["web:x/b"]).fetchone()[0])
        wait_until(
            lambda: scalar(db, "select wait_event_type = 'Lock' from pg_stat_activity where pid = ?", [pid]) or None,
            "the second writer to wait for the network",
        )
        assert not waiting.done()
        db.execute(enqueue, ["web:x/b"])  # the holder goes on into the network's other channels
    assert waiting.result(timeout=30) > first
    other.close()


# ---------------------------------------------------------------- reads


def test_a_reader_connection_reads_and_cannot_write(db: PostgresDatabase, postgres_url: str) -> None:
    add_message(db, "hola")
    reader = db.open_reader()  # with the credentials db was opened with, which db.url does not show
    assert "@" in db.url and postgres_url.split("@")[0] not in db.url
    assert scalar(reader, "select count(*) from messages") == 1
    with pytest.raises(StoreError, match=r"\[25006\]"):
        insert(reader, "networks", {"name": "x"})
    reader.close()


def test_a_connection_the_server_dropped_fails_once_then_is_replaced(db: PostgresDatabase, postgres_url: str) -> None:
    add_message(db, "hola")
    admin = PostgresDatabase(connect(postgres_url), postgres_url)
    assert scalar(admin, "select pg_terminate_backend(?)", [db.conn.info.backend_pid]) is True
    with pytest.raises(StoreError):
        scalar(db, "select count(*) from messages")
    assert scalar(db, "select count(*) from messages") == 1
    admin.close()


def test_a_connection_lost_inside_a_transaction_is_not_replaced_there(db: PostgresDatabase, postgres_url: str) -> None:
    admin = PostgresDatabase(connect(postgres_url), postgres_url)
    with pytest.raises(StoreError), db.transaction():
        add_message(db, "lost")
        scalar(admin, "select pg_terminate_backend(?)", [db.conn.info.backend_pid])
        add_message(db, "never")
    assert scalar(db, "select count(*) from messages") == 0
    admin.close()


def test_a_dump_changes_with_any_write_and_empty_restarts_the_history(db: PostgresDatabase) -> None:
    from testing.postgres import dump, empty

    before = dump(db)
    first = add_message(db, "uno")
    assert dump(db) != before
    empty(db)
    assert dump(db) == before
    assert add_message(db, "otra vez") == first  # ids restart too


def test_the_newest_debian_server_is_found_and_none_is_an_error(tmp_path: Path) -> None:
    from testing.postgres import PostgresMissing, find_bindir

    for version in ("9.6", "13", "15"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "initdb").touch()
    assert find_bindir(tmp_path, path="") == tmp_path / "15" / "bin"
    with pytest.raises(PostgresMissing, match="apt-get install postgresql"):
        find_bindir(tmp_path / "none", path=str(tmp_path))


SEAM_TESTS = "tests/core/test_sql_seam.py"


def test_without_a_server_the_tests_skip_unless_ci_requires_them() -> None:
    from testing.postgres import PostgresMissing
    from tests.fixtures.postgres import missing_server

    def absent() -> Path:
        raise PostgresMissing("PostgreSQL server binaries not found: apt-get install postgresql")

    def present() -> Path:
        return Path("/usr/lib/postgresql/15/bin")

    reason = missing_server({}, absent)
    assert reason is not None and "apt-get install postgresql" in reason and "AGORA_TEST_POSTGRES=1" in reason
    assert missing_server({"AGORA_TEST_POSTGRES": "1"}, absent) is None  # CI: start_cluster fails instead
    assert missing_server({}, present) is None


def test_switching_postgresql_off_skips_its_tests() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "savepoint", SEAM_TESTS],
        env={**os.environ, "AGORA_TEST_POSTGRES": "0"},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "1 passed, 1 skipped" in done.stdout, done.stdout + done.stderr


def test_a_database_owner_gets_unaccent_created_by_the_migration(postgres_cluster: Cluster) -> None:
    url = postgres_cluster.create_database(template="template0")  # no extension: a DBA installed nothing
    db = open_database(url)
    try:
        assert scalar(db, "select count(*) from pg_extension where extname = 'unaccent'") == 1
        assert scalar(db, "select agora_fold(?)", ["Ação"]) == "acao"
    finally:
        db.close()
        postgres_cluster.drop_database(url)


def test_questions_added_at_once_by_two_replicas_both_count_in_their_languages_sum(
    db: PostgresDatabase, postgres_url: str
) -> None:
    from bot.store.vectors import QuestionVectors

    other = open_database(postgres_url)
    first, second = add_message(db, "uno"), add_message(db, "dos")
    mine, theirs = QuestionVectors(db, "m", 4), QuestionVectors(other, "m", 4)
    pid = other.conn.info.backend_pid if isinstance(other, PostgresDatabase) else 0
    with ThreadPoolExecutor(1) as pool:
        with db.transaction():
            assert mine.add(first, "n", "es", np.ones(4, dtype=np.float32))
            racing = pool.submit(theirs.add, second, "n", "es", np.full(4, 2.0, dtype=np.float32))
            wait_until(
                lambda: scalar(db, "select wait_event_type = 'Lock' from pg_stat_activity where pid = ?", [pid]),
                "the second replica to wait for the first one's sum",
            )
        assert racing.result(timeout=30)
    sums = mine.sums("n")["es"]
    assert sums.count == 2 and sums.total.tolist() == [3.0, 3.0, 3.0, 3.0]
    mine.close_reader()
    other.close()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_bot_whose_connections_the_server_dropped_goes_on_relaying(
    make_harness: Callable[..., Any], database_url: str
) -> None:
    """A database restart or failover drops every connection: the bot keeps running, the next
    statements reconnect, and questions asked afterwards reach every city."""
    h: Harness = await make_harness()
    admin = open_database(database_url)
    dropped = admin.execute(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity "
        "where datname = current_database() and pid <> pg_backend_pid()) t"
    ).fetchone()[0]
    assert dropped >= 1
    # The statement that meets the dropped connection fails: that command gets no answer (the handler logs).
    with contextlib.suppress(StoreError, AssertionError):
        await h.command(BOSTON, "/ask Does anyone still print parking permits?")
    await h.command(BOSTON, "/ask Who runs a tool library?")
    await h.drain()
    assert "[es] Who runs a tool library?" in h.adapter.texts(GDL)
    assert "[pt] Who runs a tool library?" in h.adapter.texts(RECIFE)
    admin.close()
    await h.agora.stop(grace=1)
