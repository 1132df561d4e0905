"""The Discord adapter's own tables in the shared database (all named ``discord_*``).

* ``discord_webhooks``: the one webhook per channel Agora posts copies through
  (its token lets edits and deletes go through the same webhook after a restart);
* ``discord_seen``: the newest message id handled per linked channel, threads
  included, where catch-up starts after downtime;
* ``discord_sent``: post id per outbox nonce, because webhook posts take no
  nonce: a retried send finds its earlier post here instead of posting twice;
* ``discord_sync``: a fingerprint per command-sync scope, so restarts with
  unchanged commands do not spend Discord's sync rate limit.

Every access is a single small statement on the event loop thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from adapters.discord import schema
from bot.store.sql import Database, one, update, upsert


@dataclass(frozen=True, slots=True)
class SentPost:
    """A post made for an outbox nonce."""

    nonce: str
    channel_id: str
    message_id: str
    thread_id: str | None
    thread_started: bool


class Tables:
    """Typed access to the adapter's tables (brought up to date on construction)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        schema.apply(db)

    # ------------------------------------------------------------ webhooks

    def webhook(self, channel_id: str) -> tuple[int, str] | None:
        row = one(self.db, "select webhook_id, token from discord_webhooks where channel_id = ?", [channel_id])
        return (int(row["webhook_id"]), str(row["token"])) if row else None

    def save_webhook(self, channel_id: str, guild_id: str, webhook_id: int, token: str) -> None:
        row = {
            "channel_id": channel_id,
            "guild_id": guild_id,
            "webhook_id": str(webhook_id),
            "token": token,
            "created_at": time.time(),
        }
        upsert(self.db, "discord_webhooks", row, key=["channel_id"])

    def forget_webhook(self, channel_id: str) -> None:
        self.db.execute("delete from discord_webhooks where channel_id = ?", [channel_id])

    def webhook_ids(self) -> set[int]:
        return {int(r["webhook_id"]) for r in self.db.query("select webhook_id from discord_webhooks")}

    # ------------------------------------------------------------ seen

    def seen(self, channel_id: str) -> int | None:
        row = one(self.db, "select last_id from discord_seen where channel_id = ?", [channel_id])
        return int(row["last_id"]) if row else None

    def advance(self, channel_id: str, guild_id: str, message_id: int) -> None:
        """Move a channel's mark forward (never back)."""
        self.db.execute(
            "insert into discord_seen (channel_id, guild_id, last_id) values (?, ?, ?)"
            " on conflict (channel_id) do update set last_id = excluded.last_id"
            " where excluded.last_id > discord_seen.last_id",
            [channel_id, guild_id, message_id],
        )

    # ------------------------------------------------------------ sent

    def sent(self, nonce: str) -> SentPost | None:
        row = one(self.db, "select * from discord_sent where nonce = ?", [nonce])
        if row is None:
            return None
        return SentPost(
            row["nonce"], row["channel_id"], row["message_id"], row["thread_id"] or None, bool(row["thread_started"])
        )

    def record_sent(self, nonce: str, channel_id: str, message_id: str, thread_id: str | None) -> SentPost:
        row = {
            "nonce": nonce,
            "channel_id": channel_id,
            "message_id": message_id,
            "thread_id": thread_id or "",
            "thread_started": 0,
            "created_at": time.time(),
        }
        upsert(self.db, "discord_sent", row, key=["nonce"])
        return SentPost(nonce, channel_id, message_id, thread_id, False)

    def thread_started(self, nonce: str) -> None:
        update(self.db, "discord_sent", {"nonce": nonce}, {"thread_started": 1})

    def prune_sent(self, older_than: float) -> None:
        self.db.execute("delete from discord_sent where created_at < ?", [older_than])

    # ------------------------------------------------------------ command syncs

    def synced(self, scope: str) -> str | None:
        row = one(self.db, "select fingerprint from discord_sync where scope = ?", [scope])
        return str(row["fingerprint"]) if row else None

    def save_sync(self, scope: str, fingerprint: str) -> None:
        upsert(
            self.db,
            "discord_sync",
            {"scope": scope, "fingerprint": fingerprint, "synced_at": time.time()},
            key=["scope"],
        )
