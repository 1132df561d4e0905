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

from bot.store.fulltext import CANDIDATES
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

# The same matches in one window of ids, (low, high], newest first and at most a number of them:
# the GIN index and the primary key together find them without reading the rest of history.
_NEWEST = {
    "messages": (
        "select c.id, -ts_rank(c.v, agora_search_query(?), 1) from ("
        "select m.id, m.search_vector v from messages m where m.search_vector @@ agora_search_query(?) "
        "and m.id > ? and m.id <= ? and m.network = ? and m.deleted = 0 and {kinds} order by m.id desc limit ?) c"
    ),
    "message_translations": (
        "select c.id, -ts_rank(c.v, agora_search_query(?), 1) from ("
        "select t.message_id as id, t.search_vector v "
        "from message_translations t join messages m on m.id = t.message_id "
        "where t.search_vector @@ agora_search_query(?) and t.message_id > ? and t.message_id <= ? "
        "and m.network = ? and m.deleted = 0 and {kinds} order by t.message_id desc limit ?) c"
    ),
}
_NEWEST_ID = {
    "messages": "select max(id) from messages",
    "message_translations": "select max(message_id) from message_translations",
}
MIN_WINDOW = 1000
"""Ids in the narrowest first window searched for the newest matches."""
_PLANNED_ROWS = {
    source: f"explain (format json) select 1 from {source} x where x.search_vector @@ agora_search_query(?)"
    for source in ("messages", "message_translations")
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
    db: Database,
    source: str,
    query: str,
    network: str,
    limit: int,
    *,
    questions_only: bool = False,
    candidates: int | None = None,
) -> list[tuple[int, float]]:
    """The best ``limit`` (message id, score) of ``source`` for the tsquery text ``query``, lowest score first.

    Only live messages of ``network``: questions when ``questions_only``, else every kind but notices.
    With ``candidates``, only the newest that many matches are ranked (:func:`newest_matches`).
    """
    kinds = "m.kind = 'question'" if questions_only else "m.kind <> 'notice'"
    if candidates is not None:
        return sorted(newest_matches(db, source, query, network, candidates, kinds), key=lambda m: (m[1], m[0]))[:limit]
    sql = _MATCHES[source].format(kinds=kinds)
    return [(int(r[0]), float(r[1])) for r in db.execute(sql, [query, query, network, limit]).fetchall()]


def newest_matches(
    db: Database, source: str, query: str, network: str, candidates: int, kinds: str
) -> list[tuple[int, float]]:
    """The newest ``candidates`` matches (message id, score) of ``source``, all of them if fewer.

    Ranking reads each match's vector, so ranking every match of a common word
    costs as much as history holds. GIN cannot return matches newest first;
    windows of ids can: from the newest id back, the first as wide as should hold
    enough (:func:`first_window`), each next one as wide as the last one's matches
    say the rest need (:func:`next_window`), until enough are found. The index
    and the primary key are intersected before rows are read, so a window reads
    only its own matches.

    The planner would rather walk the primary key through a window and test
    each row (it prices the test as nearly free), which reads every row of the
    window, not only its matches: several times slower. Plain index scans are
    switched off for these statements (``set local``: this transaction only) so
    it intersects the two indexes instead.
    """
    high = db.execute(_NEWEST_ID[source]).fetchone()[0]
    if high is None:
        return []
    sql = _NEWEST[source].format(kinds=kinds)
    found: list[tuple[int, float]] = []
    width = first_window(db, source, query, candidates, int(high))
    with db.transaction():
        db.execute("set local enable_indexscan = off")
        while high > 0 and len(found) < candidates:
            low = max(int(high) - width, 0)
            rows = db.execute(sql, [query, query, low, high, network, candidates - len(found)]).fetchall()
            found += [(int(r[0]), float(r[1])) for r in rows]
            high, width = low, next_window(width, len(rows), candidates - len(found))
    return found


def next_window(width: int, found: int, missing: int) -> int:
    """The next window: as wide as the last one's matches say the missing ones need, half again as margin,
    and at least twice as wide (the planner's estimate counts every network's matches: a network with a
    small share of them needs more)."""
    return max(width * 2, int(width * missing / max(found, 1) * 1.5))


def first_window(db: Database, source: str, query: str, candidates: int, newest_id: int) -> int:
    """How many ids back ``candidates`` matches should lie, from the planner's estimate of all matches.

    Every window reads the words' whole GIN entries, whose size grows with
    history, so one window should do: the estimate (from the column's statistics,
    as for any plan) with half again as margin. Too narrow costs another window,
    too wide reads more rows than ranked.
    """
    plan = db.execute(_PLANNED_ROWS[source], [query]).fetchone()[0]
    matches = max(float(plan[0]["Plan"]["Plan Rows"]), 1.0)
    return max(MIN_WINDOW, int(candidates * newest_id / matches * 1.5))


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

    def __init__(self, db: Database, candidates: int = CANDIDATES) -> None:
        self.db = db
        self.candidates = candidates

    def relayed(self, network: str, terms: Sequence[str]) -> dict[int, float]:
        """Relayed, undeleted messages of ``network`` holding any of ``terms`` (4+ letters also as
        prefixes), by original or stored translation: message id → score, higher is better."""
        scores: dict[int, float] = {}
        query = tsquery(terms, prefix_from=4)
        if not query:
            return scores
        for source in SOURCES:
            for message_id, score in best_matches(self.db, source, query, network, MATCHES, candidates=self.candidates):
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
