"""Numbered schema steps, applied in order and recorded by sqlite-utils.

Never edit a step that has shipped: add the next one. Each step runs once per
database, so an upgrade keeps every relayed message's mapping. The same steps for
PostgreSQL, under the same names, are in :mod:`bot.store.postgres_schema`: a new
step goes into both (tests/core/test_postgres.py compares the two schemas).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("agora")
FTS_TOKENIZE = "unicode61 remove_diacritics 2"


@migrations()
def m001_core(db: Database) -> None:
    db.table("networks").create({"name": str, "join_code": str, "created_at": float}, pk="name")
    db.table("channels").create(
        {
            "ref": str,
            "network": str,
            "platform": str,
            "city": str,
            "country": str,
            "lang": str,
            "mode": str,
            "subscriptions": str,
            "digest": int,
            "digest_next_at": float,
            "source": str,
            "linked_at": float,
        },
        pk="ref",
        foreign_keys=[("network", "networks", "name")],
        not_null={"network", "platform", "city", "lang", "mode"},
    )
    db.table("channels").create_index(["network"])
    db.table("channels").create_index(["platform"])
    db.table("events").create({"key": str, "seen_at": float}, pk="key")
    db.table("messages").create(
        {
            "id": int,
            "network": str,
            "channel": str,
            "platform_id": str,
            "root_id": int,
            "kind": str,
            "author_id": str,
            "author_name": str,
            "author_avatar": str,
            "city": str,
            "country": str,
            "text": str,
            "plain": str,
            "lang": str,
            "topics": str,
            "version": int,
            "created_at": float,
            "edited_at": float,
            "deleted": int,
        },
        pk="id",
        not_null={"network", "channel", "kind", "text", "lang"},
    )
    db.table("messages").create_index(["channel", "platform_id"], unique=True)
    db.table("messages").create_index(["root_id"])
    db.table("messages").create_index(["network", "created_at"])
    db.table("copies").create(
        {"id": int, "message_id": int, "channel": str, "lang": str, "thread_id": str, "created_at": float},
        pk="id",
        foreign_keys=[("message_id", "messages", "id")],
    )
    db.table("copies").create_index(["message_id", "channel"], unique=True)
    db.table("posts").create(
        {"channel": str, "platform_id": str, "copy_id": int, "part": int},
        pk=("channel", "platform_id"),
        foreign_keys=[("copy_id", "copies", "id")],
    )
    db.table("posts").create_index(["copy_id", "part"], unique=True)
    db.table("outbox").create(
        {
            "id": int,
            "channel": str,
            "copy_id": int,
            "op": str,
            "state": str,
            "attempts": int,
            "next_at": float,
            "last_error": str,
            "created_at": float,
            "done_at": float,
        },
        pk="id",
        foreign_keys=[("copy_id", "copies", "id")],
    )
    db.table("outbox").create_index(["channel", "state", "id"])
    db.table("outbox").create_index(["state"])
    db.table("message_translations").create(
        {"message_id": int, "lang": str, "version": int, "text": str, "plain": str, "engine": str, "translated": int},
        pk=("message_id", "lang"),
    )
    db.table("translations").create(
        {"key": str, "engine": str, "source": str, "target": str, "text": str, "result": str, "created_at": float},
        pk="key",
    )
    db.table("installs").create(
        {"platform": str, "space": str, "data": str, "installed_at": float}, pk=("platform", "space")
    )
    db.table("glossary").create({"network": str, "term": str, "translations": str}, pk=("network", "term"))


@migrations()
def m002_search(db: Database) -> None:
    db.table("messages").enable_fts(["plain"], create_triggers=True, tokenize=FTS_TOKENIZE)
    db.table("message_translations").enable_fts(["plain"], create_triggers=True, tokenize=FTS_TOKENIZE)


@migrations()
def m003_files(db: Database) -> None:
    db.table("files").create(
        {
            "id": int,
            "message_id": int,
            "position": int,
            "name": str,
            "size": int,
            "mime": str,
            "source_url": str,
            "platform_file_id": str,
            "key": str,
            "state": str,
            "error": str,
            "created_at": float,
        },
        pk="id",
        foreign_keys=[("message_id", "messages", "id")],
    )
    db.table("files").create_index(["message_id", "position"], unique=True)
    db.table("files").create_index(["state"])
    db.table("files").create_index(["key"])


@migrations()
def m004_tag_corrections(db: Database) -> None:
    db.table("tag_corrections").create(
        {
            "id": int,
            "network": str,
            "message_id": int,
            "lang": str,
            "text": str,
            "before": str,
            "after": str,
            "added": str,
            "removed": str,
            "author_id": str,
            "vector": bytes,
            "created_at": float,
        },
        pk="id",
        not_null={"network", "message_id", "lang", "text", "after"},
    )
    db.table("tag_corrections").create_index(["network", "message_id"])


@migrations()
def m005_safety_claims(db: Database) -> None:
    """Leases so several processes can share one database: a claimed row names its owner
    and when the claim lapses; one sender per destination channel holds that channel's lease.
    Glossary changes are kept with who made them and when."""
    db.execute("alter table outbox add column owner text")
    db.execute("alter table outbox add column lease_until float")
    db.table("channel_leases").create(
        {"channel": str, "owner": str, "expires_at": float, "last_post_at": float}, pk="channel"
    )
    db.table("events").create_index(["seen_at"])
    db.table("glossary_changes").create(
        {
            "id": int,
            "network": str,
            "term": str,
            "action": str,
            "translations": str,
            "actor_id": str,
            "actor_name": str,
            "channel": str,
            "at": float,
        },
        pk="id",
        not_null={"network", "term", "action", "at"},
    )
    db.table("glossary_changes").create_index(["network", "at"])


@migrations()
def m006_question_vectors(db: Database) -> None:
    """Sentence vectors of questions (int8 with a per-row scale) and per-language sums for centring."""
    db.table("question_vectors").create(
        {"message_id": int, "network": str, "lang": str, "model": str, "scale": float, "vector": bytes},
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"network", "lang", "model", "scale", "vector"},
    )
    db.table("question_vectors").create_index(["network", "model", "message_id"])
    db.table("question_vector_sums").create(
        {"network": str, "lang": str, "model": str, "count": int, "total": bytes},
        pk=("network", "lang", "model"),
    )
    # How many rows hold each word: a suggestion search leaves out words too common to be worth their cost.
    db.execute("create virtual table messages_fts_vocab using fts5vocab('messages_fts', 'row')")
    db.execute("create virtual table message_translations_fts_vocab using fts5vocab('message_translations_fts', 'row')")


@migrations()
def m007_topic_day_counts(db: Database) -> None:
    """Per-day counts by topic, channel and thread, so reports read the window's counts, not its messages.

    Triggers keep them in the same transaction as every insert, edit, delete,
    retag and erasure of a message (see :mod:`bot.store.counts`); existing
    databases are backfilled here.
    """
    from bot.store.counts import create_counts

    create_counts(db)


@migrations()
def m008_drop_installs(db: Database) -> None:
    """Nothing ever read or wrote ``installs`` (Slack keeps its own ``slack_installations``)."""
    db.table("installs").drop(ignore=True)


@migrations()
def m009_leases(db: Database) -> None:
    """Named leases (:mod:`bot.store.leases`): which replica holds a one-of-a-kind job, such as a Discord
    gateway session, until when."""
    db.table("leases").create(
        {"name": str, "holder": str, "expires_at": float}, pk="name", not_null={"holder", "expires_at"}
    )


@migrations()
def m010_connection_state(db: Database) -> None:
    """Each adapter's last recorded connection state (:mod:`bot.supervision`, read by ``agora doctor``).

    Earlier versions created this table on first use; ``if_not_exists`` keeps such a table and its rows."""
    db.table("connection_state").create(
        {
            "adapter": str,
            "state": str,
            "since": float,
            "last_error": str,
            "reconnects": int,
            "pid": int,
            "updated_at": float,
        },
        pk="adapter",
        if_not_exists=True,
    )


@migrations()
def m011_counts_lock_order(db: Database) -> None:
    """Nothing on SQLite: its writers take the database's one lock up front. On PostgreSQL count changes
    take the network's lock first (:mod:`bot.store.postgres_schema`, "Lock order")."""


@migrations()
def m012_outbox_notify(db: Database) -> None:
    """Nothing on SQLite, whose processes poll for each other's deliveries. On PostgreSQL new outbox rows
    are announced to the other replicas as they commit (:mod:`bot.store.wakeups`)."""
