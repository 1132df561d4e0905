"""The Discord adapter's tables (see tables.py), as named migration steps for SQLite and PostgreSQL.

Recorded per database as ``agora-discord``. Earlier versions created these tables
when missing, without steps; the first step keeps their shape and only creates what
is absent, so those databases upgrade in place. Never edit a step that has shipped:
add the next one, to both lists under the same name.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.store.schema import PostgresSteps, apply_migrations
from bot.store.sql import Database

migrations = Migrations("agora-discord")


@migrations()
def m001_tables(db: sqlite_utils.Database) -> None:
    """The tables as the create-if-missing code made them."""
    db.table("discord_webhooks").create(
        {"channel_id": str, "guild_id": str, "webhook_id": str, "token": str, "created_at": float},
        pk="channel_id",
        if_not_exists=True,
    )
    db.table("discord_seen").create(
        {"channel_id": str, "guild_id": str, "last_id": int}, pk="channel_id", if_not_exists=True
    )
    db.table("discord_sent").create(
        {
            "nonce": str,
            "channel_id": str,
            "message_id": str,
            "thread_id": str,
            "thread_started": int,
            "created_at": float,
        },
        pk="nonce",
        if_not_exists=True,
    )
    db.table("discord_sync").create(
        {"scope": str, "fingerprint": str, "synced_at": float}, pk="scope", if_not_exists=True
    )


POSTGRES_STEPS: PostgresSteps = [
    (
        "m001_tables",
        """
        create table discord_webhooks (
            channel_id text primary key,
            guild_id text,
            webhook_id text,
            token text,
            created_at double precision
        );
        create table discord_seen (channel_id text primary key, guild_id text, last_id bigint);
        create table discord_sent (
            nonce text primary key,
            channel_id text,
            message_id text,
            thread_id text,
            thread_started integer,
            created_at double precision
        );
        create table discord_sync (scope text primary key, fingerprint text, synced_at double precision)
        """,
    ),
]


def apply(db: Database) -> None:
    """Bring the Discord tables up to date."""
    apply_migrations(db, migrations, POSTGRES_STEPS)
