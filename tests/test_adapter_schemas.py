"""Each adapter's PostgreSQL steps build the same tables as its SQLite steps, under the same step names.

The SQLite side is what the sqlite-utils steps really make (``PRAGMA table_info``
and ``index_list`` of a fresh database); the PostgreSQL side is read from the
steps' ``create table``, ``alter table … add column`` and ``create index``
statements. Compared: tables, columns with their type family, primary keys and
indexes. (Running the PostgreSQL steps on a real server is the PostgreSQL suite's.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from adapters.discord import schema as discord_schema
from adapters.slack import inbox as slack_inbox
from adapters.slack import schema as slack_schema
from adapters.web import tables as web_tables
from bot.store.schema import PostgresSteps

SCHEMAS = [
    pytest.param(web_tables.migrations, web_tables.POSTGRES_STEPS, id="web"),
    pytest.param(slack_schema.migrations, slack_schema.POSTGRES_STEPS, id="slack"),
    pytest.param(slack_schema.files_migrations, slack_schema.FILES_POSTGRES_STEPS, id="slack-files"),
    pytest.param(discord_schema.migrations, discord_schema.POSTGRES_STEPS, id="discord"),
    pytest.param(slack_inbox.migrations, slack_inbox.POSTGRES_STEPS, id="slack-inbox"),
]

SQLITE_FAMILIES = {"TEXT": "text", "INTEGER": "integer", "REAL": "float", "FLOAT": "float", "BLOB": "bytes"}
POSTGRES_FAMILIES = {
    "text": "text",
    "bigint": "integer",
    "integer": "integer",
    "bigserial": "integer",
    "double precision": "float",
    "bytea": "bytes",
}


@dataclass
class Table:
    columns: dict[str, str] = field(default_factory=dict)  # name -> type family
    primary_key: tuple[str, ...] = ()
    indexes: set[tuple[bool, tuple[str, ...]]] = field(default_factory=set)  # (unique, columns)


def sqlite_tables(migrations: Migrations) -> dict[str, Table]:
    db = sqlite_utils.Database(memory=True)
    migrations.apply(db)
    tables: dict[str, Table] = {}
    for name in db.table_names():
        if name.startswith("_"):
            continue
        table = tables[name] = Table()
        info = db.execute(f"pragma table_info([{name}])").fetchall()
        table.columns = {column: SQLITE_FAMILIES[kind.upper()] for _, column, kind, *_ in info}
        table.primary_key = tuple(row[1] for row in sorted(info, key=lambda row: row[5]) if row[5])  # pk: position
        for _, index, unique, origin, _partial in db.execute(f"pragma index_list([{name}])").fetchall():
            if origin == "c":
                columns = tuple(r[2] for r in db.execute(f"pragma index_info([{index}])").fetchall())
                table.indexes.add((bool(unique), columns))
    return tables


CREATE = re.compile(r"create table (?:if not exists )?(\w+) \((.*)\)", re.S)
ADD = re.compile(r"alter table (\w+) add column (?:if not exists )?(\"?\w+\"?) (.+)", re.S)
INDEX = re.compile(r"create (unique )?index (?:if not exists )?\w+ on (\w+) \(([^)]*)\)", re.S)


def postgres_tables(steps: PostgresSteps) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for _, sql in steps:
        for statement in filter(None, (" ".join(s.split()) for s in sql.split(";"))):
            if match := CREATE.fullmatch(statement):
                table = tables[match[1]] = Table()
                for item in _top_level_items(match[2]):
                    if item.startswith("primary key"):
                        table.primary_key = _names(item.removeprefix("primary key"))
                        continue
                    column, kind = _column(item)
                    table.columns[column] = kind
                    if "primary key" in item:
                        table.primary_key = (column,)
            elif match := ADD.fullmatch(statement):
                column, kind = _column(f"{match[2]} {match[3]}")
                tables[match[1]].columns[column] = kind
            elif match := INDEX.fullmatch(statement):
                tables[match[2]].indexes.add((bool(match[1]), _names(match[3])))
            else:
                pytest.fail(f"a statement this test cannot read: {statement!r}")
    return tables


def _top_level_items(body: str) -> list[str]:
    items, depth, current = [], 0, ""
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    return [*items, current.strip()]


def _column(definition: str) -> tuple[str, str]:
    name, rest = definition.split(" ", 1)
    kind = re.split(r" (?:primary|generated|not|default|unique|references)\b", rest)[0].strip()
    return name.strip('"'), POSTGRES_FAMILIES[kind]


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip().strip('"') for n in text.strip().strip("()").split(","))


@pytest.mark.parametrize(("migrations", "steps"), SCHEMAS)
def test_postgres_steps_have_the_sqlite_step_names(migrations: Migrations, steps: PostgresSteps) -> None:
    names = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
    assert [name for name, _ in steps] == names


@pytest.mark.parametrize(("migrations", "steps"), SCHEMAS)
def test_postgres_steps_make_the_sqlite_tables(migrations: Migrations, steps: PostgresSteps) -> None:
    assert postgres_tables(steps) == sqlite_tables(migrations)
