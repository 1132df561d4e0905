"""Full-text search over messages and their stored translations: the engine-specific SQL.

Search (:mod:`bot.search`) and similar-question suggestions (:mod:`bot.similar`)
ask for matches of plain words; how the words are matched is the engine's: on
SQLite, FTS5 tables kept by triggers (``messages_fts``,
``message_translations_fts``, diacritics removed) ranked by BM25, with
``fts5vocab`` tables telling how common a word is. A PostgreSQL implementation
lives in :mod:`bot.store.postgres` and is chosen by :func:`full_text`.

Every implementation takes words already cut to letters and digits
(``bot.search.words``), so no query syntax reaches the engine from a user.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Protocol

from bot.store.schema import postgres_module
from bot.store.sql import SQLITE, Database, placeholders

log = logging.getLogger(__name__)

MATCHES = 200  # best word matches kept from originals, and from translations
FIRST_LOOK = 1000  # best matches scored before the network and deletion filters; all of them only if too few pass
CANDIDATES = 1000
"""Matches ranked per index: a query matching more of a network's messages than this ranks only the newest
this many (a common word's older matches are not scored, so a search's cost stops growing with history).
A query with fewer matches ranks them all, however old. On SQLite the newest of the index (of any network)
when enough of them are the network's, else the network's own newest; on PostgreSQL the network's own."""


class FullText(Protocol):
    """Word matches over one database's messages and stored translations."""

    def relayed(self, network: str, terms: Sequence[str]) -> dict[int, float]:
        """Relayed, undeleted messages of ``network`` whose text or a stored translation holds any of
        ``terms`` (words of four letters or more also as prefixes): message id → score, higher is better."""
        ...

    def questions(
        self, network: str, terms: Sequence[str], limit: int, max_rows: int, exclude: int | None = None
    ) -> list[int]:
        """Undeleted questions holding any of ``terms``, best first, at most ``limit``; words found in more
        than ``max_rows`` rows of an index are left out there (they say little and cost much)."""
        ...


def full_text(db: Database) -> FullText:
    """The implementation for ``db``'s engine."""
    if db.dialect == SQLITE:
        return SqliteFullText(db)
    implementation: FullText = postgres_module().PostgresFullText(db)
    return implementation


def fts_query(terms: Sequence[str]) -> str:
    """An FTS5 expression that can only mean "any of these words" (prefixes for longer ones)."""
    parts = []
    for term in dict.fromkeys(terms):
        quoted = '"' + term.replace('"', '""') + '"'
        parts.append(quoted + "*" if len(term) >= 4 else quoted)
    return " OR ".join(parts)


# "+m.network": SQLite walks the matches' rowids instead of the network's every message.
ORIGINALS = (
    "select m.rowid, m.id from messages m where m.rowid in ({marks}) "
    "and +m.network = ? and m.deleted = 0 and m.kind != 'notice'"
)
TRANSLATIONS = (
    "select t.rowid, t.message_id from message_translations t join messages m on m.id = t.message_id "
    "where t.rowid in ({marks}) and +m.network = ? and m.deleted = 0 and m.kind != 'notice'"
)
ORIGINALS_FULL = (
    "select m.id, bm25(messages_fts) score from messages_fts join messages m on m.rowid = messages_fts.rowid "
    "where messages_fts match ?{newer} and m.network = ? and m.deleted = 0 and m.kind != 'notice' "
    "order by score limit {limit}"
)
TRANSLATIONS_FULL = (
    "select t.message_id id, bm25(message_translations_fts) score from message_translations_fts "
    "join message_translations t on t.rowid = message_translations_fts.rowid "
    "join messages m on m.id = t.message_id "
    "where message_translations_fts match ?{newer} and m.network = ? and m.deleted = 0 and m.kind != 'notice' "
    "order by score limit {limit}"
)
# The newest matches first, through the index's own rowid order: walking stops at the one wanted.
NEWEST_ANY = "select rowid from {table} where {table} match ? order by rowid desc limit 1 offset ?"
NEWEST = {
    "messages_fts": (
        "select messages_fts.rowid from messages_fts join messages m on m.rowid = messages_fts.rowid "
        "where messages_fts match ? and +m.network = ? and m.deleted = 0 and m.kind != 'notice' "
        "order by messages_fts.rowid desc limit 1 offset ?"
    ),
    "message_translations_fts": (
        "select message_translations_fts.rowid from message_translations_fts "
        "join message_translations t on t.rowid = message_translations_fts.rowid "
        "join messages m on m.id = t.message_id "
        "where message_translations_fts match ? and +m.network = ? and m.deleted = 0 and m.kind != 'notice' "
        "order by message_translations_fts.rowid desc limit 1 offset ?"
    ),
}
QUESTION_INDEXES = (
    (
        "messages_fts_vocab",
        "select m.id, bm25(messages_fts) from messages_fts join messages m on m.rowid = messages_fts.rowid "
        "where messages_fts match ? and m.network = ? and m.kind = 'question' and m.deleted = 0 "
        "order by 2 limit ?",
    ),
    (
        "message_translations_fts_vocab",
        "select m.id, bm25(message_translations_fts) from message_translations_fts "
        "join message_translations t on t.rowid = message_translations_fts.rowid "
        "join messages m on m.id = t.message_id "
        "where message_translations_fts match ? and m.network = ? and m.kind = 'question' and m.deleted = 0 "
        "order by 2 limit ?",
    ),
)


class SqliteFullText:
    """FTS5 with BM25 (lower is better in SQLite; turned around for :meth:`relayed`)."""

    def __init__(self, db: Database, candidates: int = CANDIDATES) -> None:
        self.db = db
        self.candidates = candidates

    def relayed(self, network: str, terms: Sequence[str]) -> dict[int, float]:
        scores: dict[int, float] = {}
        match = fts_query(terms)
        try:
            for table, mapping, full_sql in (
                ("messages_fts", ORIGINALS, ORIGINALS_FULL),
                ("message_translations_fts", TRANSLATIONS, TRANSLATIONS_FULL),
            ):
                for message_id, score in self.best_matches(table, mapping, full_sql, match, network):
                    scores[message_id] = max(scores.get(message_id, 0.0), -score)
        except sqlite3.OperationalError as exc:  # belt and braces: words() should make this unreachable
            log.warning("search query rejected by FTS: %s", exc)
        return scores

    def best_matches(
        self, table: str, mapping: str, full_sql: str, match: str, network: str
    ) -> list[tuple[int, float]]:
        """The best ``MATCHES`` (message id, bm25) of ``table`` in ``network``, as ``full_sql`` finds them,
        among the newest ``CANDIDATES`` matches.

        BM25 costs as much as there are matches scored, so only the index's newest
        ``CANDIDATES`` matches are (all when there are fewer), found by walking the
        index newest first. Joining every match to its message costs as much again;
        the best ``FIRST_LOOK`` of them are ranked by the index alone first, and only
        if fewer than ``MATCHES`` of those are in the network and not deleted does
        the full query run, over the network's own newest ``CANDIDATES`` matches.
        """
        newer = self.newer(table, NEWEST_ANY.format(table=table), [match, self.candidates - 1])
        first = self.db.execute(
            f"select rowid, bm25({table}) score from {table} where {table} match ?{newer} order by score limit ?",
            [match, FIRST_LOOK],
        ).fetchall()
        if not first:
            return []
        passed: dict[int, int] = {}
        for i in range(0, len(first), 500):
            chunk = [rowid for rowid, _ in first[i : i + 500]]
            passed.update(self.db.execute(mapping.format(marks=placeholders(len(chunk))), [*chunk, network]).fetchall())
        if len(passed) >= MATCHES or (len(first) < FIRST_LOOK and not newer):
            kept = [(passed[rowid], float(score)) for rowid, score in first if rowid in passed]
            return kept[:MATCHES]
        if newer:  # the index's newest are mostly other networks' (or deleted): the network's own newest
            newer = self.newer(table, NEWEST[table], [match, network, self.candidates - 1])
        sql = full_sql.format(limit=MATCHES, newer=newer)
        return [(row[0], float(row[1])) for row in self.db.execute(sql, [match, network]).fetchall()]

    def newer(self, table: str, sql: str, params: list[object]) -> str:
        """A condition keeping ``table``'s rows from the one ``sql`` finds on ("" if it finds none)."""
        oldest = self.db.execute(sql, params).fetchone()
        return f" and {table}.rowid >= {int(oldest[0])}" if oldest else ""

    def questions(
        self, network: str, terms: Sequence[str], limit: int, max_rows: int, exclude: int | None = None
    ) -> list[int]:
        found: dict[int, float] = {}
        for vocab, sql in QUESTION_INDEXES:
            common = {
                str(term)
                for term, rows in self.db.execute(
                    f"select term, doc from {vocab} where term in ({placeholders(len(terms))})", list(terms)
                ).fetchall()
                if rows > max_rows
            }
            kept = [t for t in terms if t not in common]
            if not kept:
                continue
            match = " OR ".join('"' + t.replace('"', '""') + '"' for t in kept)
            for message_id, score in self.db.execute(sql, [match, network, limit]).fetchall():
                if message_id != exclude:
                    found[int(message_id)] = min(found.get(int(message_id), 0.0), float(score))
        return sorted(found, key=lambda i: found[i])[:limit]
