"""Question vectors in the database, and the reads that find candidates for a new question.

Writes happen on the event loop's connection (the one writer). Reads for
suggestions run in a worker thread, on a read connection of that thread's own
(:func:`bot.store.open_read_database`; on SQLite WAL lets it read while the loop
writes), so a search never blocks the relay; an in-memory database, which other
connections cannot see, is read through the shared connection instead (tests).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.store.connect import is_memory, open_read_database, open_reader_of
from bot.store.fulltext import full_text
from bot.store.sql import POSTGRESQL, Database, placeholders, upsert
from bot.vectors import Matrix, Vector, dequantise, quantise


@dataclass(frozen=True, slots=True)
class Candidates:
    """Stored question vectors: ids, their languages and one row each."""

    ids: tuple[int, ...]
    langs: tuple[str, ...]
    vectors: Matrix


@dataclass(frozen=True, slots=True)
class LanguageSums:
    """Running sum of a network's question vectors in one language (for centring)."""

    count: int
    total: Vector


class QuestionVectors:
    """The ``question_vectors`` and ``question_vector_sums`` tables for one embedding model."""

    def __init__(self, db: Database, model: str, dim: int, target: Path | str | None = None) -> None:
        """``target``: what ``db`` was opened from (the configured database, credentials included), for
        read connections; when not given, ``db`` opens them itself (:func:`bot.store.open_reader_of`)."""
        self.db = db
        self.target = str(target) if target is not None else None
        self.model = model
        self.dim = dim
        self._local = threading.local()

    # ------------------------------------------------------------ writes (event loop)

    def add(self, message_id: int, network: str, lang: str, vector: Vector) -> bool:
        """Store a question's vector once and add it to its language's running sum; False if it had one."""
        scale, blob = quantise(vector)
        with self.db.transaction():
            cur = self.db.execute(
                "insert into question_vectors (message_id, network, lang, model, scale, vector) "
                "values (?, ?, ?, ?, ?, ?) on conflict (message_id) do nothing",
                [message_id, network, lang, self.model, scale, blob],
            )
            if cur.rowcount == 0:
                return False
            row = self._sums_row(network, lang)
            total = np.asarray(vector, dtype=np.float32).copy()
            count = 1
            if row is not None:
                count += int(row[0])
                total += np.frombuffer(row[1], dtype=np.float32)
            upsert(
                self.db,
                "question_vector_sums",
                {
                    "network": network,
                    "lang": lang,
                    "model": self.model,
                    "count": count,
                    "total": total.astype(np.float32).tobytes(),
                },
                key=["network", "lang", "model"],
            )
        return True

    def replace(self, message_id: int, vector: Vector) -> bool:
        """A new vector for an edited question, its language's running sum moved with it; False if it had none."""
        scale, blob = quantise(vector)
        with self.db.transaction():
            row = self.db.execute(
                "select network, lang, scale, vector from question_vectors where message_id = ? and model = ?",
                [message_id, self.model],
            ).fetchone()
            if row is None:
                return False
            network, lang = str(row[0]), str(row[1])
            old = dequantise([float(row[2])], [row[3]], self.dim)[0]
            self.db.execute(
                "update question_vectors set scale = ?, vector = ? where message_id = ?", [scale, blob, message_id]
            )
            self.db.execute(
                "update question_vector_sums set total = ? where network = ? and lang = ? and model = ?",
                [self._moved(network, lang, old, vector), network, lang, self.model],
            )
        return True

    def _sums_row(self, network: str, lang: str) -> tuple[int, bytes] | None:
        """(count, total) of a language's running sum, inside the caller's transaction.

        A read-modify-write: SQLite's write transaction already holds the only write lock; on
        PostgreSQL two replicas adding questions at once would each add to the sum they read and
        one addition would be lost, so there the row is created if missing and locked first.
        """
        key = [network, lang, self.model]
        lock = ""
        if self.db.dialect == POSTGRESQL:
            self.db.execute(
                "insert into question_vector_sums (network, lang, model, count, total) values (?, ?, ?, 0, ?) "
                "on conflict (network, lang, model) do nothing",
                [*key, np.zeros(self.dim, dtype=np.float32).tobytes()],
            )
            lock = " for update"
        row = self.db.execute(
            f"select count, total from question_vector_sums where network = ? and lang = ? and model = ?{lock}", key
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def _moved(self, network: str, lang: str, old: Vector, new: Vector) -> bytes:
        row = self._sums_row(network, lang)
        total = np.frombuffer(row[1], dtype=np.float32).copy() if row else np.zeros(self.dim, dtype=np.float32)
        return (total - old + np.asarray(new, dtype=np.float32)).astype(np.float32).tobytes()

    def count(self) -> int:
        """How many questions have a vector of this model."""
        row = self.db.execute("select count(*) from question_vectors where model = ?", [self.model]).fetchone()
        return int(row[0])

    def unindexed(self, limit: int) -> list[tuple[int, str, str, str]]:
        """Questions stored before they had a vector: (id, network, lang, plain text), oldest first."""
        rows = self.db.execute(
            "select m.id, m.network, m.lang, m.plain from messages m "
            "left join question_vectors v on v.message_id = m.id "
            "where m.kind = 'question' and m.root_id is null and m.deleted = 0 and m.plain != '' "
            "and v.message_id is null "
            "order by m.id limit ?",
            [limit],
        ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3] or "")) for r in rows]

    # ------------------------------------------------------------ reads (any thread)

    def reader(self) -> Database:
        """This thread's read connection."""
        if is_memory(self.target if self.target is not None else self.db.url):
            return self.db
        conn: Database | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_read_database(self.target) if self.target is not None else open_reader_of(self.db)
            self._local.conn = conn
        return conn

    def recent(self, network: str, limit: int, exclude: int | None = None) -> Candidates:
        """The network's ``limit`` most recent live questions that have vectors."""
        rows = (
            self.reader()
            .execute(
                "select v.message_id, v.lang, v.scale, v.vector from question_vectors v "
                "join messages m on m.id = v.message_id "
                "where v.network = ? and v.model = ? and m.deleted = 0 and v.message_id != ? "
                "order by v.message_id desc limit ?",
                [network, self.model, exclude or 0, limit],
            )
            .fetchall()
        )
        return self._candidates(rows)

    def of(self, ids: Sequence[int]) -> Candidates:
        """Vectors of these questions (those that have one and are not deleted)."""
        if not ids:
            return self._candidates([])
        marks = placeholders(len(ids))
        rows = (
            self.reader()
            .execute(
                f"select v.message_id, v.lang, v.scale, v.vector from question_vectors v "
                f"join messages m on m.id = v.message_id "
                f"where v.message_id in ({marks}) and v.model = ? and m.deleted = 0",
                [*ids, self.model],
            )
            .fetchall()
        )
        return self._candidates(rows)

    def vector(self, message_id: int) -> tuple[str, Vector] | None:
        """One question's stored (language, vector)."""
        found = self.of([message_id])
        return (found.langs[0], found.vectors[0]) if found.ids else None

    def sums(self, network: str) -> dict[str, LanguageSums]:
        rows = (
            self.reader()
            .execute(
                "select lang, count, total from question_vector_sums where network = ? and model = ?",
                [network, self.model],
            )
            .fetchall()
        )
        return {
            str(r[0]): LanguageSums(int(r[1]), np.frombuffer(r[2], dtype=np.float32).copy())
            for r in rows
            if len(r[2]) == 4 * self.dim
        }

    def matching(
        self, network: str, terms: Sequence[str], limit: int, max_rows: int, exclude: int | None = None
    ) -> list[int]:
        """Questions whose text or a stored translation holds any of ``terms``, best (BM25) first.

        Words found in more than ``max_rows`` rows of an index are left out of the
        search in that index: they say little about a question and would make the
        ranking cost grow with history.
        """
        return full_text(self.reader()).questions(network, terms, limit, max_rows, exclude)

    def close_reader(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _candidates(self, rows: list[tuple[int, str, float, bytes]]) -> Candidates:
        rows = [r for r in rows if len(r[3]) == self.dim]
        return Candidates(
            tuple(int(r[0]) for r in rows),
            tuple(str(r[1]) for r in rows),
            dequantise([float(r[2]) for r in rows], [r[3] for r in rows], self.dim),
        )
