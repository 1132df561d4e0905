"""What the store forgets: text past the retention window, and one person's data on request.

Public-records and privacy laws (LGPD, Mexico's federal data-protection law, US state
laws) give people the right to have their data removed, and networks set retention
rules. What is removed is the *content* (message text, author names and avatars,
stored translations, their search entries, cached translation pieces, question
vectors); what stays is
the bookkeeping that edits, deletes and threads still need (ids, channels, the
mapping to platform posts), so a later edit or delete of an old message still
reaches every copy.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.richtext import from_json, map_text
from bot.store.sql import Database, placeholders

T = TypeVar("T")

ERASED_NAME = ""


@dataclass(frozen=True, slots=True)
class Removed:
    """How many rows of each kind a purge or an erasure touched."""

    messages: int = 0
    translations: int = 0
    cached_pieces: int = 0
    deliveries: int = 0
    events: int = 0
    files: int = 0
    message_ids: tuple[int, ...] = ()

    def __add__(self, other: Removed) -> Removed:
        return Removed(
            self.messages + other.messages,
            self.translations + other.translations,
            self.cached_pieces + other.cached_pieces,
            self.deliveries + other.deliveries,
            self.events + other.events,
            self.files + other.files,
            self.message_ids + other.message_ids,
        )


def purge_before(db: Database, cutoff: float) -> Removed:
    """Remove the content of every message created before ``cutoff``, and old bookkeeping.

    Finished outbox rows and redelivery keys older than the cutoff go too: nothing
    can be redelivered or retried that long after.
    """
    # An edit is new content: it is kept for the full window from the edit.
    rows = db.query("select id from messages where coalesce(edited_at, created_at) < ? and text != '[]'", [cutoff])
    ids = [r["id"] for r in rows]
    removed = _forget_messages(db, ids)
    with db.transaction():
        deliveries = db.execute(
            "delete from outbox where created_at < ? and state in ('done', 'cancelled')", [cutoff]
        ).rowcount
        cached = db.execute("delete from translations where created_at < ?", [cutoff]).rowcount
        events = db.execute("delete from events where seen_at < ?", [cutoff]).rowcount
    return removed + Removed(cached_pieces=cached, deliveries=deliveries, events=events)


def messages_by_author(db: Database, platform: str, space: str, user: str) -> list[int]:
    """Ids of the messages one person wrote, in any channel of their workspace or server."""
    rows = db.query(
        "select id from messages where author_id = ? and (channel like ? escape '\\') order by id",
        [user, _like_prefix(f"{platform}:{space}/")],
    )
    return [r["id"] for r in rows]


def erase_messages(db: Database, ids: Iterable[int]) -> Removed:
    """Remove the content of these messages: text, author, translations, search entries, cache pieces."""
    return _forget_messages(db, list(ids))


def _forget_messages(db: Database, ids: list[int]) -> Removed:
    if not ids:
        return Removed()
    pieces: set[str] = set()
    translations = 0
    files = 0
    with db.transaction():
        for chunk in _chunks(ids, 500):
            marks = placeholders(len(chunk))
            for row in db.query(f"select text from messages where id in ({marks})", chunk):
                pieces |= _texts(row["text"])
            for row in db.query(f"select text from message_translations where message_id in ({marks})", chunk):
                pieces |= _texts(row["text"])
            translations += db.execute(
                f"delete from message_translations where message_id in ({marks})", chunk
            ).rowcount
            # A sentence vector says what the text said: it goes with the text.
            db.execute(f"delete from question_vectors where message_id in ({marks})", chunk)
            files += db.execute(
                f"update files set key = null, source_url = '', name = '', state = 'erased' "
                f"where message_id in ({marks}) and state != 'erased'",
                chunk,
            ).rowcount
            # A manager's topic correction keeps the message's text and embedding: they go with it.
            db.execute(f"delete from tag_corrections where message_id in ({marks})", chunk)
            # The FTS triggers follow these updates, so search forgets the text too.
            db.execute(
                f"update messages set text = '[]', plain = '', author_name = ?, author_avatar = null "
                f"where id in ({marks})",
                [ERASED_NAME, *chunk],
            )
        cached = _forget_cached_pieces(db, pieces)
    return Removed(
        messages=len(ids), translations=translations, cached_pieces=cached, files=files, message_ids=tuple(ids)
    )


def _forget_cached_pieces(db: Database, pieces: set[str]) -> int:
    """Cached translations whose source or result is a piece of the forgotten texts."""
    wanted = {p.strip() for p in pieces if p.strip()}
    if not wanted:
        return 0
    joined = "\n".join(sorted(wanted))
    doomed = [
        r["key"]
        for r in db.query("select key, text, result from translations")
        if r["text"].strip() in wanted or (len(r["text"].strip()) > 3 and r["text"].strip() in joined)
    ]
    for chunk in _chunks(doomed, 500):
        db.execute(f"delete from translations where key in ({placeholders(len(chunk))})", chunk)
    return len(doomed)


def _texts(stored: str) -> set[str]:
    """Every piece of text a stored rich text holds (what the translation cache was fed)."""
    found: set[str] = set()

    def keep(piece: str) -> str:
        found.add(piece)
        return piece

    with contextlib.suppress(ValueError, TypeError, KeyError):  # an unreadable row has nothing to forget
        map_text(from_json(json.loads(stored)), keep)
    return found


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
