"""Word search on PostgreSQL: what FTS5's ``match``, ``bm25`` and ``fts5vocab`` do on SQLite.

The indexes (see :mod:`bot.store.postgres_schema`) hold ``plain`` text folded by
``unaccent`` and lowered, cut into words by the ``simple`` configuration: no stemming
and no stop words, so a word matches whatever language it is in, "saúde" matches
"saude", and ranking needs no language. Queries get the same fold on the server.

Scores keep FTS5's sense: lower is better (the negated ``ts_rank``, length-normalised
like BM25 is), so callers sort and compare them the same way on both engines.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.sql import Database

SOURCES = ("messages", "message_translations")
"""The two searchable tables: originals, and stored translations of them."""

_MATCHES = {
    "messages": (
        "select m.id, -ts_rank(m.search_vector, agora_search_query(?), 1) as score from messages m "
        "where m.search_vector @@ agora_search_query(?) "
        "and m.network = ? and m.deleted = 0 and {kinds} order by score, m.id limit ?"
    ),
    "message_translations": (
        "select t.message_id as id, -ts_rank(t.search_vector, agora_search_query(?), 1) as score "
        "from message_translations t join messages m on m.id = t.message_id "
        "where t.search_vector @@ agora_search_query(?) "
        "and m.network = ? and m.deleted = 0 and {kinds} order by score, t.message_id limit ?"
    ),
}

_ROWS_HOLDING = {
    source: (
        f"select t.term, (select count(*) from (select 1 from {source} x "
        "where x.search_vector @@ agora_search_query(t.query) limit ?) hits) as n "
        "from unnest(?::text[], ?::text[]) as t(term, query)"
    )
    for source in SOURCES
}


def tsquery(terms: Sequence[str], prefix_from: int | None = None) -> str:
    """A tsquery text meaning "any of these words" (as prefixes when at least ``prefix_from`` long).

    Each word is quoted, so nothing in it is read as an operator.
    """
    parts = []
    for term in dict.fromkeys(terms):
        quoted = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
        parts.append(quoted + ":*" if prefix_from is not None and len(term) >= prefix_from else quoted)
    return " | ".join(parts)


def best_matches(
    db: Database, source: str, query: str, network: str, limit: int, *, questions_only: bool = False
) -> list[tuple[int, float]]:
    """The best ``limit`` (message id, score) of ``source`` for the tsquery text ``query``, lowest score first.

    Only live messages of ``network``: questions when ``questions_only``, else every kind but notices.
    """
    kinds = "m.kind = 'question'" if questions_only else "m.kind <> 'notice'"
    sql = _MATCHES[source].format(kinds=kinds)
    return [(int(r[0]), float(r[1])) for r in db.execute(sql, [query, query, network, limit]).fetchall()]


def common_words(db: Database, source: str, terms: Sequence[str], max_rows: int) -> set[str]:
    """Those of ``terms`` found in more than ``max_rows`` rows of ``source``.

    Counted through the GIN index, stopping at ``max_rows + 1`` rows, so the cost
    is bounded by the limit, not by history (SQLite reads ``fts5vocab`` instead).
    """
    words = list(dict.fromkeys(terms))
    if not words:
        return set()
    queries = [tsquery([w]) for w in words]
    rows = db.execute(_ROWS_HOLDING[source], [max_rows + 1, words, queries]).fetchall()
    return {str(term) for term, n in rows if int(n) > max_rows}


MATCHES = 200  # best word matches kept from originals, and from translations (as on SQLite)


class PostgresFullText:
    """:class:`bot.store.fulltext.FullText` on PostgreSQL (same answers as FTS5, scored by ``ts_rank``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def relayed(self, network: str, terms: Sequence[str]) -> dict[int, float]:
        """Relayed, undeleted messages of ``network`` holding any of ``terms`` (4+ letters also as
        prefixes), by original or stored translation: message id → score, higher is better."""
        scores: dict[int, float] = {}
        query = tsquery(terms, prefix_from=4)
        if not query:
            return scores
        for source in SOURCES:
            for message_id, score in best_matches(self.db, source, query, network, MATCHES):
                scores[message_id] = max(scores.get(message_id, 0.0), -score)
        return scores

    def questions(
        self, network: str, terms: Sequence[str], limit: int, max_rows: int, exclude: int | None = None
    ) -> list[int]:
        """Undeleted questions holding any of ``terms``, best first; words in more than ``max_rows``
        rows of an index are left out of that index's search."""
        found: dict[int, float] = {}
        for source in SOURCES:
            common = common_words(self.db, source, terms, max_rows)
            kept = [t for t in terms if t not in common]
            if not kept:
                continue
            for message_id, score in best_matches(self.db, source, tsquery(kept), network, limit, questions_only=True):
                if message_id != exclude:
                    found[message_id] = min(found.get(message_id, 0.0), score)
        return sorted(found, key=lambda i: found[i])[:limit]
