"""Every adapter's PostgreSQL steps, run on a real server, make the tables its SQLite steps make.

tests/test_adapter_schemas.py reads the steps' SQL text; here the server runs them (through
:func:`bot.store.postgres.apply_steps`, as ``open_database`` does) and its catalogs are compared.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlite_utils.migrations import Migrations

from bot.store.postgres import PostgresDatabase, apply_steps, connect
from bot.store.schema import PostgresSteps
from tests.database import postgres_shape
from tests.test_adapter_schemas import SCHEMAS, sqlite_tables

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(postgres_url: str) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(connect(postgres_url), postgres_url)
    yield database
    database.close()


@pytest.mark.parametrize(("migrations", "steps"), SCHEMAS)
def test_the_server_makes_the_sqlite_tables(db: PostgresDatabase, migrations: Migrations, steps: PostgresSteps) -> None:
    assert apply_steps(db, migrations.name, steps) == [name for name, _ in steps]
    assert apply_steps(db, migrations.name, steps) == []
    made = postgres_shape(db)
    made.pop("agora_migrations")
    expected = {
        name: (table.columns, table.primary_key, table.indexes) for name, table in sqlite_tables(migrations).items()
    }
    assert made == expected
