"""The PostgreSQL password stays on the connection object: no log line, ``repr``, error or ``db.url``
shows it, and readers, replacements and the wake-ups listener still connect with it (the test
cluster's ``agora`` role logs in with a password, so a connection opened without it fails)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from bot.errors import StoreError
from bot.store import Store, open_database, open_reader_of
from bot.store.postgres import OutboxNotices, PostgresDatabase, open_postgres_reader, redact, secrets_in
from bot.store.sql import scalar
from bot.store.vectors import QuestionVectors
from testing.polling import eventually
from tests.core.conftest import BOSTON, GDL

pytestmark = pytest.mark.postgres


def password_of(url: str) -> str:
    secret = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert len(secret) >= 8  # long enough that finding it anywhere is no accident
    return secret


def test_readers_open_from_the_connection_not_from_the_url_it_shows(postgres_url: str) -> None:
    db = open_database(postgres_url)
    assert isinstance(db, PostgresDatabase)
    with pytest.raises(StoreError, match="no password supplied"):
        open_postgres_reader(db.url)  # what db.url says cannot log in: nothing remembers the password for it
    reader = open_reader_of(db)
    assert scalar(reader, "select current_setting('default_transaction_read_only')") == "on"
    vectors = QuestionVectors(db, "m", 4)  # no target given: reads through a reader the connection opens
    assert vectors.recent("n", 5).ids == ()
    vectors.close_reader()
    reader.close()
    db.close()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_no_log_line_repr_error_or_url_shows_the_password(
    make_harness: Callable[..., Any], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    password = password_of(database_url)
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    h = await make_harness()
    db = h.agora.db
    assert isinstance(db, PostgresDatabase)
    shown += [db.url, repr(db), repr(h.agora.outbox.wakeups)]
    await h.command(BOSTON, "/ask Who runs a winter shelter?")
    await h.drain()
    assert h.adapter.posts[GDL]
    await h.command(BOSTON, "/agora search shelter")  # a read on the reads thread's own connection
    admin = open_database(database_url)
    listener = h.agora.outbox.wakeups
    assert isinstance(listener, OutboxNotices)
    listening = await eventually(lambda: listener.backend_pid, "the wake-ups listener to listen")
    for pid in (db.conn.info.backend_pid, listening):  # the server drops both: each is replaced, with a warning
        assert scalar(admin, "select pg_terminate_backend(?)", [pid]) is True
    with pytest.raises(StoreError) as lost:
        h.agora.store.ping()
    shown.append(str(lost.value))
    h.agora.store.ping()  # replaced, with the password it was opened with
    await eventually(lambda: listener.backend_pid not in (None, listening), "the listener to listen again")
    admin.close()
    await h.agora.stop(grace=1)
    for broken in (
        database_url.replace(f":{password}@", f":{password}%zz@"),  # libpq quotes a bad token back
        database_url.replace(f":{password}@", f":{password} x@"),  # and a space in the password
        database_url.replace("@127.0.0.1:", "@[127.0.0.1:"),  # not even a URL to Python
        database_url.replace(f":{password}@", f":{password}-wrong@"),
    ):
        with pytest.raises(StoreError) as refused:
            Store(open_database(broken))
        shown += [*traceback.format_exception(refused.value), redact(broken)]  # its causes included
    logged = [record.getMessage() for record in caplog.records] + [caplog.text]
    assert any("reconnecting" in line for line in logged)  # the lines that name the database were written
    assert any("listen" in line for line in logged)
    leaks = [line for line in shown + logged if password in line]
    assert leaks == []


def test_the_secrets_of_a_url_are_its_password_as_written_and_decoded() -> None:
    assert secrets_in("postgresql://u:p%40ss@h/db") == ("p%40ss", "p@ss")
    assert secrets_in("postgresql://u@h/db?password=s3cr%20t&x=1") == ("s3cr%20t", "s3cr t")
    assert secrets_in("postgresql://u:s3cret@[h/db") == ("s3cret",)
    assert secrets_in("postgresql://u@h/db") == ()
