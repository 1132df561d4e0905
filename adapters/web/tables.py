"""The web adapter's own table, ``web_messages``, as named sqlite-utils migration steps.

Like the core's and Slack's tables, the schema grows by numbered steps recorded per database
(``agora-web``), so a database made by any earlier version upgrades in place. Never edit a step
that has shipped: add the next one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.store.transactions import write_transaction

migrations = Migrations("agora-web")


@migrations()
def m001_web_messages(db: Database) -> None:
    """The table as the first web playground made it (databases from before these steps keep theirs)."""
    db.table("web_messages").create(
        {
            "id": int,
            "channel": str,
            "user": str,
            "city": str,
            "lang": str,
            "text": str,
            "segments": str,
            "footer": str,
            "original_text": str,
            "original_lang": str,
            "topics": str,
            "topic_labels": str,
            "thread_id": int,
            "nonce": str,
            "message_id": int,
            "is_copy": int,
            "own": int,
            "original_segments": str,
            "translated": int,
            "deleted": int,
            "edited_at": float,
            "created_at": float,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("web_messages").create_index(["nonce"], unique=True, if_not_exists=True)
    db.table("web_messages").create_index(["channel", "id"], if_not_exists=True)


@migrations()
def m002_files(db: Database) -> None:
    """Attached files (JSON), for tables made before the web playground took files."""
    if "files" not in db.table("web_messages").columns_dict:
        db.table("web_messages").add_column("files", str)


def apply(db: Database) -> None:
    """Bring ``web_messages`` up to date (two processes starting at once apply each step once)."""
    with write_transaction(db):
        migrations.apply(db)
