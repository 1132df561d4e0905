"""The durable state: networks, channels, messages, copies, the outbox.

One database behind the :class:`~bot.store.sql.Database` seam: a SQLite file
(WAL mode, the embedded default) or PostgreSQL, opened by :func:`open_database`;
one connection per process used only from the event loop's thread. Several
processes may share the database: every write transaction takes the write lock
up front (on SQLite ``BEGIN IMMEDIATE``, waiting out the others through
``busy_timeout``, so "database is locked" never surfaces); deliveries are
shared out by leases (:mod:`bot.store.claims`). Every method is a short
synchronous statement or transaction; the relay groups several under
:meth:`Store.transaction` when they must land together.

The narrow method set is the seam: nothing outside this package writes SQL
against the core tables, and only this package knows which engine it talks to.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.events import Attachment, ChannelRef
from bot.model import Channel, Copy, Network, StoredMessage
from bot.richtext import RichText, from_json, to_json, to_plain
from bot.store import privacy
from bot.store.connect import BUSY_TIMEOUT_MS, open_database, open_read_database, open_reader_of
from bot.store.fulltext import FullText, full_text
from bot.store.privacy import Removed
from bot.store.sql import SQLITE, Database, insert, one, placeholders, update, upsert

__all__ = ["BUSY_TIMEOUT_MS", "Database", "Store", "open_database", "open_read_database", "open_reader_of"]

SEND, EDIT, DELETE = "send", "edit", "delete"
PENDING, SENDING, DONE, PARKED, CANCELLED = "pending", "sending", "done", "parked", "cancelled"
FILE_PENDING, FETCHED, TOO_LARGE, FILE_FAILED, ERASED = "pending", "stored", "too_large", "failed", "erased"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One delivery: post, edit or delete one copy in one channel."""

    id: int
    channel: ChannelRef
    copy_id: int
    op: str
    state: str
    attempts: int
    next_at: float
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file shared with a message: where it came from and whether Agora holds its bytes."""

    id: int
    message_id: int
    position: int
    name: str
    size: int | None
    mime: str
    source_url: str
    platform_file_id: str | None
    key: str | None
    state: str
    error: str | None


@dataclass(frozen=True, slots=True)
class TagCorrection:
    """A manager's correction of a message's topics (``/agora tag``), with its embedding when there was one."""

    network: str
    message_id: int
    lang: str
    text: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    vector: bytes | None


@dataclass(frozen=True, slots=True)
class MessageTranslation:
    """A whole message in one language, for copies and for search."""

    message_id: int
    lang: str
    version: int
    text: RichText
    engine: str
    translated: bool


@dataclass(frozen=True, slots=True)
class GlossaryChange:
    """One glossary change: a term added (with its fixed translations) or removed, by whom, where, when."""

    network: str
    term: str
    action: str
    translations: dict[str, str]
    actor_id: str
    actor_name: str
    channel: ChannelRef
    at: float = 0.0


class Store:
    """Typed access to the core tables."""

    def __init__(self, db: Database, clock: Any = time.time) -> None:
        self.db = db
        self.now = clock
        self._full_text: FullText | None = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing, holding the write lock from the start: nested calls become savepoints."""
        with self.db.transaction():
            yield

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        return one(self.db, sql, params)

    @property
    def full_text(self) -> FullText:
        """Word search over messages and their translations, in this engine's SQL."""
        if self._full_text is None:
            self._full_text = full_text(self.db)
        return self._full_text

    # ------------------------------------------------------------ networks

    def network(self, name: str) -> Network | None:
        row = self._one("select name, join_code from networks where name = ?", [name])
        return Network(row["name"], row["join_code"]) if row else None

    def create_network(self, name: str, code: str | None = None) -> Network:
        """Create a network with a fresh join code (or the given one)."""
        code = code or new_join_code()
        with self.transaction():
            insert(self.db, "networks", {"name": name, "join_code": code, "created_at": self.now()})
        return Network(name, code)

    def networks(self) -> list[Network]:
        return [Network(r["name"], r["join_code"]) for r in self.db.query("select * from networks order by name")]

    # ------------------------------------------------------------ channels

    def channel(self, ref: ChannelRef) -> Channel | None:
        row = self._one("select * from channels where ref = ?", [str(ref)])
        return _channel(row) if row else None

    def network_channels(self, network: str) -> list[Channel]:
        rows = self.db.query("select * from channels where network = ? order by linked_at, ref", [network])
        return [_channel(r) for r in rows]

    def platform_channels(self, platform: str) -> list[Channel]:
        rows = self.db.query("select * from channels where platform = ? order by ref", [platform])
        return [_channel(r) for r in rows]

    def all_channels(self) -> list[Channel]:
        return [_channel(r) for r in self.db.query("select * from channels order by network, linked_at, ref")]

    def link_channel(self, channel: Channel, source: str) -> None:
        """Insert or replace a channel's link (config and commands both end here)."""
        with self.transaction():
            upsert(
                self.db,
                "channels",
                {
                    "ref": str(channel.ref),
                    "network": channel.network,
                    "platform": channel.ref.platform,
                    "city": channel.city,
                    "country": channel.country,
                    "lang": channel.lang,
                    "mode": channel.mode,
                    "subscriptions": json.dumps(list(channel.subscriptions)),
                    "digest": int(channel.digest),
                    "source": source,
                    "linked_at": self.now(),
                },
                key=["ref"],
            )

    def update_channel(self, ref: ChannelRef, **fields: Any) -> None:
        """Change a linked channel's lang, mode, subscriptions, digest or country."""
        row: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "subscriptions":
                row[key] = json.dumps(list(value))
            elif key == "digest":
                row[key] = int(value)
            else:
                row[key] = value
        with self.transaction():
            update(self.db, "channels", {"ref": str(ref)}, row)

    def unlink_channel(self, ref: ChannelRef) -> None:
        with self.transaction():
            self.db.execute("delete from channels where ref = ?", [str(ref)])

    def digest_due(self, now: float) -> list[tuple[Channel, float | None]]:
        rows = self.db.query(
            "select * from channels where digest = 1 and (digest_next_at is null or digest_next_at <= ?)", [now]
        )
        return [(_channel(r), r["digest_next_at"]) for r in rows]

    def claim_digest(self, ref: ChannelRef, due: float, following: float) -> bool:
        """Move a due digest on to ``following``; False when another process already did."""
        with self.transaction():
            cur = self.db.execute(
                "update channels set digest_next_at = ? where ref = ? and digest_next_at = ?",
                [following, str(ref), due],
            )
        return cur.rowcount == 1

    def set_digest_next(self, ref: ChannelRef, when: float | None) -> None:
        with self.transaction():
            self.db.execute("update channels set digest_next_at = ? where ref = ?", [when, str(ref)])

    # ------------------------------------------------------------ messages

    def seen_event(self, key: str) -> bool:
        """Record an incoming event key; True if it was already recorded (a redelivery).

        The database decides, so two processes given the same event relay it once."""
        with self.transaction():
            cur = self.db.execute(
                "insert into events (key, seen_at) values (?, ?) on conflict (key) do nothing", [key, self.now()]
            )
        return cur.rowcount == 0

    def prune_events(self, before: float) -> int:
        """Forget event keys recorded before ``before``: platforms stop redelivering long before."""
        with self.transaction():
            cur = self.db.execute("delete from events where seen_at < ?", [before])
        return cur.rowcount

    def add_message(
        self,
        *,
        network: str,
        channel: ChannelRef,
        platform_id: str | None,
        root_id: int | None,
        kind: str,
        author_id: str,
        author_name: str,
        author_avatar: str | None,
        city: str,
        country: str,
        text: RichText,
        lang: str,
        topics: Sequence[str],
    ) -> int:
        # One prepared statement on the hot path (no per-row column checks).
        cur = self.db.execute(
            "insert into messages (network, channel, platform_id, root_id, kind, author_id, author_name, "
            "author_avatar, city, country, text, plain, lang, topics, version, created_at, deleted) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 0) returning id",
            [
                network,
                str(channel),
                platform_id,
                root_id,
                kind,
                author_id,
                author_name,
                author_avatar,
                city,
                country,
                json.dumps(to_json(text)),
                to_plain(text),
                lang,
                json.dumps(list(topics)),
                self.now(),
            ],
        )
        return int(cur.fetchone()[0])

    def message(self, message_id: int) -> StoredMessage | None:
        row = self._one("select * from messages where id = ?", [message_id])
        return _message(row) if row else None

    def message_version(self, message_id: int) -> int:
        row = self._one("select version from messages where id = ?", [message_id])
        return int(row["version"]) if row else 0

    def original_at(self, channel: ChannelRef, platform_id: str) -> StoredMessage | None:
        """The message that was originally posted in ``channel`` with ``platform_id``."""
        row = self._one("select * from messages where channel = ? and platform_id = ?", [str(channel), platform_id])
        return _message(row) if row else None

    def post_at(self, channel: ChannelRef, platform_id: str) -> tuple[int, int] | None:
        """(copy id, message id) when ``platform_id`` is one of the bot's own posts in ``channel``."""
        row = self._one(
            "select c.id, c.message_id from posts p join copies c on c.id = p.copy_id "
            "where p.channel = ? and p.platform_id = ?",
            [str(channel), platform_id],
        )
        return (row["id"], row["message_id"]) if row else None

    def edit_message(self, message_id: int, text: RichText, lang: str, topics: Sequence[str]) -> None:
        self.db.execute(
            "update messages set text = ?, plain = ?, lang = ?, topics = ?, version = version + 1, edited_at = ? "
            "where id = ?",
            [json.dumps(to_json(text)), to_plain(text), lang, json.dumps(list(topics)), self.now(), message_id],
        )

    def delete_message(self, message_id: int) -> None:
        self.db.execute("update messages set deleted = 1, edited_at = ? where id = ?", [self.now(), message_id])

    def replies(self, root_id: int) -> list[StoredMessage]:
        rows = self.db.query("select * from messages where root_id = ? and deleted = 0 order by id", [root_id])
        return [_message(r) for r in rows]

    def messages_since(self, network: str, since: float, until: float | None = None) -> list[StoredMessage]:
        rows = self.db.query(
            "select * from messages where network = ? and created_at >= ? and created_at < ? and deleted = 0 "
            "order by id",
            [network, since, until if until is not None else self.now() + 1],
        )
        return [_message(r) for r in rows]

    def unanswered(
        self, network: str, since: float, until: float, kinds: Sequence[str], limit: int
    ) -> list[StoredMessage]:
        """The first questions of ``kinds`` created in ``[since, until)`` that have no live reply."""
        rows = self.db.query(
            "select * from messages m where network = ? and created_at >= ? and created_at < ? and deleted = 0 "
            f"and kind in ({placeholders(len(kinds))}) and root_id is null "
            "and not exists (select 1 from messages r where r.root_id = m.id and r.deleted = 0) "
            "order by id limit ?",
            [network, since, until, *kinds, limit],
        )
        return [_message(r) for r in rows]

    def tagged(self, network: str, topic: str, limit: int = 100) -> list[int]:
        """The newest relayed, undeleted messages of ``network`` tagged ``topic``, newest first."""
        # SQLite: "+network" walks ids newest first and stops at ``limit``, instead of sorting the network.
        column = "+network" if self.db.dialect == SQLITE else "network"
        rows = self.db.execute(
            f"select id from messages where {column} = ? and deleted = 0 and kind != 'notice' "
            "and topics like ? order by id desc limit ?",
            [network, f'%"{topic}"%', limit],
        ).fetchall()
        return [int(r[0]) for r in rows]

    def thread_roots(self, ids: Sequence[int]) -> dict[int, int]:
        """Which thread (its question's id) each of these messages is in; unknown ids are left out."""
        roots: dict[int, int] = {}
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            sql = f"select id, root_id from messages where id in ({placeholders(len(chunk))})"
            for message_id, root_id in self.db.execute(sql, chunk).fetchall():
                roots[message_id] = root_id or message_id
        return roots

    # ------------------------------------------------------------ copies

    def add_copy(self, message_id: int, channel: ChannelRef, lang: str, thread_id: str | None = None) -> int:
        cur = self.db.execute(
            "insert into copies (message_id, channel, lang, thread_id, created_at) values (?, ?, ?, ?, ?) returning id",
            [message_id, str(channel), lang, thread_id, self.now()],
        )
        return int(cur.fetchone()[0])

    def copy(self, copy_id: int) -> Copy | None:
        row = self._one("select * from copies where id = ?", [copy_id])
        return self._copy(row) if row else None

    def copies_of(self, message_id: int) -> list[Copy]:
        rows = self.db.query("select * from copies where message_id = ? order by id", [message_id])
        return [self._copy(r) for r in rows]

    def copy_in(self, message_id: int, channel: ChannelRef) -> Copy | None:
        row = self._one("select * from copies where message_id = ? and channel = ?", [message_id, str(channel)])
        return self._copy(row) if row else None

    def _copy(self, row: dict[str, Any]) -> Copy:
        ids = [
            r["platform_id"]
            for r in self.db.query("select platform_id from posts where copy_id = ? order by part", [row["id"]])
        ]
        return Copy(
            row["id"], row["message_id"], ChannelRef.parse(row["channel"]), row["lang"], tuple(ids), row["thread_id"]
        )

    def record_post(
        self, copy_id: int, channel: ChannelRef, part: int, platform_id: str, thread_id: str | None
    ) -> None:
        """Remember a posted part so edits, deletes, threads and echo checks find it."""
        with self.transaction():
            # A part posted again replaces what was recorded for that post or that part.
            self.db.execute(
                "delete from posts where (channel = ? and platform_id = ?) or (copy_id = ? and part = ?)",
                [str(channel), platform_id, copy_id, part],
            )
            self.db.execute(
                "insert into posts (channel, platform_id, copy_id, part) values (?, ?, ?, ?)",
                [str(channel), platform_id, copy_id, part],
            )
            if part == 0:
                self.db.execute("update copies set thread_id = ? where id = ?", [thread_id or platform_id, copy_id])

    def forget_posts(self, copy_id: int, from_part: int) -> None:
        with self.transaction():
            self.db.execute("delete from posts where copy_id = ? and part >= ?", [copy_id, from_part])

    # ------------------------------------------------------------ outbox

    def enqueue(self, channel: ChannelRef, copy_id: int, op: str) -> int:
        cur = self.db.execute(
            "insert into outbox (channel, copy_id, op, state, attempts, next_at, created_at) "
            "values (?, ?, ?, ?, 0, 0.0, ?) returning id",
            [str(channel), copy_id, op, PENDING, self.now()],
        )
        return int(cur.fetchone()[0])

    def next_delivery(self, channel: ChannelRef) -> OutboxRow | None:
        """The oldest unfinished row of a channel: rows after it wait, which keeps order."""
        row = self._one(
            "select * from outbox where channel = ? and state in (?, ?) order by id limit 1",
            [str(channel), PENDING, SENDING],
        )
        return _outbox(row) if row else None

    def channels_with_work(self) -> list[ChannelRef]:
        rows = self.db.query("select distinct channel from outbox where state in (?, ?)", [PENDING, SENDING])
        return [ChannelRef.parse(r["channel"]) for r in rows]

    def set_delivery(
        self,
        row_id: int,
        state: str,
        *,
        error: str | None = None,
        next_at: float | None = None,
        attempts: int | None = None,
    ) -> None:
        fields: dict[str, Any] = {"state": state, "owner": None, "lease_until": None}  # the claim ends here
        if error is not None:
            fields["last_error"] = error[:500]
        if next_at is not None:
            fields["next_at"] = next_at
        if attempts is not None:
            fields["attempts"] = attempts
        if state in (DONE, PARKED, CANCELLED):
            fields["done_at"] = self.now()
        with self.transaction():
            update(self.db, "outbox", {"id": row_id}, fields)

    def delivery_counts(self, channel: ChannelRef | None = None) -> dict[str, int]:
        where, params = ("where channel = ?", [str(channel)]) if channel else ("", [])
        rows = self.db.query(f"select state, count(*) n from outbox {where} group by state", params)
        return {r["state"]: r["n"] for r in rows}

    def deliveries_by_channel(self, states: Sequence[str]) -> list[tuple[str, str, int]]:
        """(channel, state, how many) of the outbox rows in ``states`` (the ``state`` index bounds the read)."""
        rows = self.db.execute(
            f"select channel, state, count(*) from outbox where state in ({placeholders(len(states))}) "
            "group by channel, state",
            list(states),
        ).fetchall()
        return [(str(channel), str(state), int(n)) for channel, state, n in rows]

    def queued_at(self, row_id: int) -> float | None:
        """When a delivery was queued."""
        row = self.db.execute("select created_at from outbox where id = ?", [row_id]).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def ping(self) -> None:
        """A round trip to the database; raises whatever the engine raises when it is unreachable."""
        self.db.execute("select 1").fetchone()

    def parked(self, limit: int = 20) -> list[OutboxRow]:
        rows = self.db.query("select * from outbox where state = ? order by id desc limit ?", [PARKED, limit])
        return [_outbox(r) for r in rows]

    # ------------------------------------------------------------ translations

    def message_translation(self, message_id: int, lang: str) -> MessageTranslation | None:
        row = self._one("select * from message_translations where message_id = ? and lang = ?", [message_id, lang])
        if row is None:
            return None
        return MessageTranslation(
            row["message_id"],
            row["lang"],
            row["version"],
            from_json(json.loads(row["text"])),
            row["engine"],
            bool(row["translated"]),
        )

    def put_message_translation(self, t: MessageTranslation) -> None:
        with self.transaction():
            upsert(
                self.db,
                "message_translations",
                {
                    "message_id": t.message_id,
                    "lang": t.lang,
                    "version": t.version,
                    "text": json.dumps(to_json(t.text)),
                    "plain": to_plain(t.text),
                    "engine": t.engine,
                    "translated": int(t.translated),
                },
                key=["message_id", "lang"],
            )

    def get_translation(self, key: str) -> str | None:
        row = self._one("select result from translations where key = ?", [key])
        return str(row["result"]) if row else None

    def put_translation(self, key: str, engine: str, source: str, target: str, text: str, result: str) -> None:
        with self.transaction():
            upsert(
                self.db,
                "translations",
                {
                    "key": key,
                    "engine": engine,
                    "source": source,
                    "target": target,
                    "text": text,
                    "result": result,
                    "created_at": self.now(),
                },
                key=["key"],
            )

    # ------------------------------------------------------------ glossary

    def glossary(self, network: str) -> list[tuple[str, dict[str, str]]]:
        rows = self.db.query("select term, translations from glossary where network = ? order by term", [network])
        return [(r["term"], json.loads(r["translations"] or "{}")) for r in rows]

    def add_glossary_term(self, network: str, term: str, translations: dict[str, str]) -> None:
        with self.transaction():
            upsert(
                self.db,
                "glossary",
                {"network": network, "term": term, "translations": json.dumps(translations)},
                key=["network", "term"],
            )

    def remove_glossary_term(self, network: str, term: str) -> bool:
        with self.transaction():
            cur = self.db.execute("delete from glossary where network = ? and term = ?", [network, term])
        return cur.rowcount > 0

    # ------------------------------------------------------------ delivery status

    def deliveries_of(self, message_id: int) -> list[tuple[ChannelRef, list[OutboxRow]]]:
        """Each copy's channel with its outbox rows, oldest first: what ``/agora status <id>`` reads."""
        out: dict[int, tuple[ChannelRef, list[OutboxRow]]] = {}
        rows = self.db.query(
            "select c.id as cid, c.channel as cchannel, o.* from copies c left join outbox o on o.copy_id = c.id "
            "where c.message_id = ? order by c.id, o.id",
            [message_id],
        )
        for row in rows:
            entry = out.setdefault(row["cid"], (ChannelRef.parse(row["cchannel"]), []))
            if row["id"] is not None:
                entry[1].append(_outbox(row))
        return list(out.values())

    def retry_parked(self, message_id: int) -> list[ChannelRef]:
        """Put a message's parked deliveries back in line; the channels to wake."""
        with self.transaction():
            rows = list(
                self.db.query(
                    "select o.id, o.channel from outbox o join copies c on c.id = o.copy_id "
                    "where c.message_id = ? and o.state = ?",
                    [message_id, PARKED],
                )
            )
            for row in rows:
                self.db.execute(
                    "update outbox set state = ?, attempts = 0, next_at = 0, done_at = null where id = ?",
                    [PENDING, row["id"]],
                )
        return sorted({ChannelRef.parse(r["channel"]) for r in rows})

    def add_notice(self, channel: Channel, text: RichText) -> int:
        """Queue a post of Agora's own (a digest, a delivery notice) into one channel; the message id."""
        with self.transaction():
            msg_id = self.add_message(
                network=channel.network,
                channel=channel.ref,
                platform_id=None,
                root_id=None,
                kind="notice",
                author_id="agora",
                author_name="Agora",
                author_avatar=None,
                city=channel.city,
                country=channel.country,
                text=text,
                lang=channel.lang,
                topics=(),
            )
            copy_id = self.add_copy(msg_id, channel.ref, channel.lang)
            self.enqueue(channel.ref, copy_id, SEND)
        return msg_id

    # ------------------------------------------------------------ files

    def add_files(self, message_id: int, attachments: Sequence[Attachment]) -> None:
        for position, att in enumerate(attachments):
            self.db.execute(
                "insert into files (message_id, position, name, size, mime, source_url, platform_file_id, state, "
                "created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    message_id,
                    position,
                    att.name,
                    att.size,
                    att.mime or "application/octet-stream",
                    att.url,
                    att.id,
                    FILE_PENDING,
                    self.now(),
                ],
            )

    def files_of(self, message_id: int) -> list[StoredFile]:
        rows = self.db.query("select * from files where message_id = ? order by position", [message_id])
        return [
            StoredFile(
                r["id"],
                r["message_id"],
                r["position"],
                r["name"],
                r["size"],
                r["mime"],
                r["source_url"],
                r["platform_file_id"],
                r["key"],
                r["state"],
                r["error"],
            )
            for r in rows
        ]

    def set_file(
        self, file_id: int, state: str, *, key: str | None = None, size: int | None = None, error: str | None = None
    ) -> None:
        fields: dict[str, Any] = {"state": state}
        if key is not None:
            fields["key"] = key
        if size is not None:
            fields["size"] = size
        if error is not None:
            fields["error"] = error
        with self.transaction():
            update(self.db, "files", {"id": file_id}, fields)

    def messages_with_pending_files(self) -> list[int]:
        rows = self.db.query("select distinct message_id from files where state = ? order by 1", [FILE_PENDING])
        return [r["message_id"] for r in rows]

    def file_keys(self) -> set[str]:
        """Every stored file some message still points at."""
        return {r["key"] for r in self.db.query("select distinct key from files where key is not null")}

    # ------------------------------------------------------------ retention and erasure

    def purge_before(self, cutoff: float) -> Removed:
        """Forget message content older than ``cutoff`` (see :mod:`bot.store.privacy`)."""
        return privacy.purge_before(self.db, cutoff)

    def messages_by_author(self, platform: str, space: str, user: str) -> list[int]:
        return privacy.messages_by_author(self.db, platform, space, user)

    def erase_messages(self, ids: Sequence[int]) -> Removed:
        return privacy.erase_messages(self.db, ids)

    def queue_copy_deletes(self, message_ids: Sequence[int]) -> list[ChannelRef]:
        """Delete every posted copy of these messages on the platforms; the channels to wake.

        The messages are marked deleted first, network by network, and the deletes queued after:
        the lock order of every relay on PostgreSQL (count changes, then the outbox; see
        :mod:`bot.store.postgres_schema`), so an erasure and a relay never wait for each other both ways.
        """
        channels: set[ChannelRef] = set()
        with self.transaction():
            for message_id in self._by_network(message_ids):
                self.delete_message(message_id)
            for message_id in message_ids:
                for copy in self.copies_of(message_id):
                    if copy.platform_ids:
                        self.enqueue(copy.channel, copy.id, DELETE)
                        channels.add(copy.channel)
        return sorted(channels)

    def _by_network(self, message_ids: Sequence[int]) -> list[int]:
        """These messages' ids ordered by network, then id (unknown ids left out)."""
        found: list[tuple[str, int]] = []
        for i in range(0, len(message_ids), 500):
            chunk = list(message_ids[i : i + 500])
            sql = f"select network, id from messages where id in ({placeholders(len(chunk))})"
            rows = self.db.execute(sql, chunk).fetchall()
            found.extend((str(network), int(message_id)) for network, message_id in rows)
        return [message_id for _, message_id in sorted(found)]

    # ------------------------------------------------------------ topic corrections

    def set_message_topics(self, message_id: int, topics: Sequence[str]) -> None:
        """Replace a message's topics (a correction; the text and its version stay)."""
        self.db.execute("update messages set topics = ? where id = ?", [json.dumps(list(topics)), message_id])

    def add_tag_correction(self, correction: TagCorrection, author_id: str) -> None:
        """Remember a correction; a newer one of the same message replaces it."""
        with self.transaction():
            self.db.execute(
                "delete from tag_corrections where network = ? and message_id = ?",
                [correction.network, correction.message_id],
            )
            self.db.execute(
                "insert into tag_corrections (network, message_id, lang, text, before, after, added, removed, "
                "author_id, vector, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    correction.network,
                    correction.message_id,
                    correction.lang,
                    correction.text,
                    json.dumps(list(correction.before)),
                    json.dumps(list(correction.after)),
                    json.dumps(list(correction.added)),
                    json.dumps(list(correction.removed)),
                    author_id,
                    correction.vector,
                    self.now(),
                ],
            )

    def tag_corrections(self, network: str | None = None) -> list[TagCorrection]:
        """Corrections of one network (or of all), oldest first."""
        where, params = ("where network = ?", [network]) if network else ("", [])
        rows = self.db.query(f"select * from tag_corrections {where} order by id", params)
        return [
            TagCorrection(
                network=r["network"],
                message_id=r["message_id"],
                lang=r["lang"],
                text=r["text"],
                before=tuple(json.loads(r["before"] or "[]")),
                after=tuple(json.loads(r["after"] or "[]")),
                added=tuple(json.loads(r["added"] or "[]")),
                removed=tuple(json.loads(r["removed"] or "[]")),
                vector=r["vector"],
            )
            for r in rows
        ]

    def record_glossary_change(self, change: GlossaryChange) -> None:
        """Keep who changed a network's glossary, and when (call inside the change's transaction)."""
        with self.transaction():
            self.db.execute(
                "insert into glossary_changes (network, term, action, translations, actor_id, actor_name, channel, at) "
                "values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    change.network,
                    change.term,
                    change.action,
                    json.dumps(change.translations),
                    change.actor_id,
                    change.actor_name,
                    str(change.channel),
                    change.at or self.now(),
                ],
            )

    def glossary_changes(self, network: str, limit: int = 10) -> list[GlossaryChange]:
        """The newest changes first."""
        rows = self.db.query(
            "select * from glossary_changes where network = ? order by at desc, id desc limit ?", [network, limit]
        )
        return [
            GlossaryChange(
                r["network"],
                r["term"],
                r["action"],
                json.loads(r["translations"] or "{}"),
                r["actor_id"] or "",
                r["actor_name"] or "",
                ChannelRef.parse(r["channel"]),
                r["at"],
            )
            for r in rows
        ]


def new_join_code() -> str:
    """A join code people can read aloud: 10 characters without look-alikes."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def _channel(row: dict[str, Any]) -> Channel:
    return Channel(
        ref=ChannelRef.parse(row["ref"]),
        network=row["network"],
        city=row["city"],
        lang=row["lang"],
        mode=row["mode"],
        country=row["country"] or "",
        subscriptions=tuple(json.loads(row["subscriptions"] or "[]")),
        digest=bool(row["digest"]),
    )


def _message(row: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        network=row["network"],
        channel=ChannelRef.parse(row["channel"]),
        platform_id=row["platform_id"],
        root_id=row["root_id"],
        kind=row["kind"],
        author_id=row["author_id"] or "",
        author_name=row["author_name"] or "",
        author_avatar=row["author_avatar"],
        city=row["city"] or "",
        text=from_json(json.loads(row["text"])),
        lang=row["lang"],
        topics=tuple(json.loads(row["topics"] or "[]")),
        created_at=row["created_at"],
        edited_at=row["edited_at"],
        deleted=bool(row["deleted"]),
        country=row["country"] or "",
    )


def _outbox(row: dict[str, Any]) -> OutboxRow:
    return OutboxRow(
        row["id"],
        ChannelRef.parse(row["channel"]),
        row["copy_id"],
        row["op"],
        row["state"],
        row["attempts"],
        row["next_at"] or 0.0,
        row["last_error"],
    )


def stored_message(row: dict[str, Any]) -> StoredMessage:
    """A ``messages`` row as a StoredMessage, for readers that run their own bounded queries."""
    return _message(row)
