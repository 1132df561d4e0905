"""Cross-lingual search of past questions and answers.

A query is cut into plain words (so FTS syntax, quotes and operators in it are
just words), translated into the network's other languages, and matched by the
store's full-text index (:mod:`bot.store.fulltext`; accents ignored) over the
originals and their stored translations. Topic words ("vivienda", "IA") also
pull in messages tagged with that topic, which finds answers across languages even when no engine is
installed. Hits are grouped by question so each answer points at its thread.

With a sentence embedder (:class:`MeaningRanker`, :mod:`bot.similar`), results
are ordered by meaning instead: the questions closest to the query first, and
questions that share no word with the query but ask the same thing are added.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.errors import TranslationError
from bot.events import LANGUAGES, Reply
from bot.i18n import Catalog
from bot.ports import Translator
from bot.reads import Reads
from bot.richtext import LineBreak, Segment, Text, plain, to_plain
from bot.store import Store
from bot.topics import Tagger

log = logging.getLogger(__name__)
WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12
TOPIC_BONUS = 2.0


@dataclass(frozen=True, slots=True)
class Hit:
    """A question thread that matched, with the best-matching message in it."""

    question_id: int
    message_id: int
    city: str
    lang: str
    snippet: str
    score: float


def words(query: str) -> list[str]:
    """Plain search words: letters and digits only, accents folded, at most 12."""
    folded = unicodedata.normalize("NFKD", query)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w.lower() for w in WORD.findall(folded) if w.strip("_")][:MAX_WORDS]


class MeaningRanker(Protocol):
    """Scores questions by how close their meaning is to a query, in any language."""

    async def by_meaning(self, network: str, query: str, lang: str, ids: Sequence[int]) -> dict[int, float]:
        """A score for each question in ``ids`` that has a vector, plus other questions close enough to the query."""
        ...


class Search:
    """Runs searches over one network's messages."""

    def __init__(
        self,
        store: Store,
        tagger: Tagger,
        translator: Translator,
        catalog: Catalog,
        meaning: MeaningRanker | None = None,
        reads: Reads | None = None,
    ) -> None:
        self.store = store
        self.reads = reads
        self.tagger = tagger
        self.translator = translator
        self.catalog = catalog
        self.meaning = meaning

    async def expand(self, query: str, lang: str) -> list[str]:
        """The query's words plus its translations into the other languages."""
        terms = words(query)
        source = self.translator.detect(query, lang)
        for target in LANGUAGES:
            if target == source:
                continue
            try:
                translated = await self.translator.translate(plain(query), source, target)
            except TranslationError:
                continue
            if translated.translated:
                terms += words(to_plain(translated.text))
        return terms[: MAX_WORDS * 3]

    async def search(self, network: str, query: str, lang: str, limit: int = 8) -> list[Hit]:
        terms = await self.expand(query, lang)
        if not terms:
            return []
        keep = None if self.meaning is not None else limit  # ranking by meaning looks at every hit
        if self.reads is None:
            ranked = self.by_words(self.store, network, query, lang, terms, keep)
        else:
            ranked = await self.reads.run(lambda store: self.by_words(store, network, query, lang, terms, keep))
        if self.meaning is not None:
            ranked = await self._by_meaning(network, query, lang, ranked)
        return ranked[:limit]

    def by_words(
        self, store: Store, network: str, query: str, lang: str, terms: list[str], keep: int | None = None
    ) -> list[Hit]:
        """Questions matching the words, best first (the first ``keep``), read through ``store`` (the
        off-loop reader's)."""
        scores = store.full_text.relayed(network, terms)
        for slug in {s for w in words(query) if (s := self.tagger.resolve(w))}:
            for message_id in store.tagged(network, slug):
                scores[message_id] = scores.get(message_id, 0.0) + TOPIC_BONUS
        # Which thread each scored message is in: only each thread's best gets read whole.
        roots = store.thread_roots(list(scores))
        best: dict[int, tuple[int, float]] = {}
        for message_id, score in scores.items():
            if message_id not in roots:
                continue
            question = roots[message_id]
            if question in best and best[question][1] >= score:
                continue
            best[question] = (message_id, score)
        ranked = sorted(best.items(), key=lambda qs: (-qs[1][1], -qs[0]))[:keep]
        return [self._hit(store, question, mid, lang, score) for question, (mid, score) in ranked]

    def _hit(self, store: Store, question: int, message_id: int, lang: str, score: float) -> Hit:
        msg = store.message(message_id)
        assert msg is not None
        shown = store.message_translation(msg.id, lang) if msg.lang != lang else None
        text = to_plain(shown.text if shown else msg.text).replace("\n", " ")
        return Hit(question, msg.id, msg.city, msg.lang, text[:160], score)

    async def _by_meaning(self, network: str, query: str, lang: str, hits: list[Hit]) -> list[Hit]:
        """Closest in meaning first; words-only hits (no vector) keep their order after them."""
        assert self.meaning is not None
        try:
            meaning = await self.meaning.by_meaning(network, query, lang, [h.question_id for h in hits])
        except Exception:
            log.exception("search by meaning failed; showing word matches")
            return hits
        found = {h.question_id for h in hits}
        for question, score in meaning.items():
            msg = self.store.message(question)
            if question in found or msg is None or msg.deleted or msg.network != network:
                continue
            if to_plain(msg.text).strip():  # not erased
                hits.append(self._hit(self.store, question, question, lang, score))
        scored = sorted((h for h in hits if h.question_id in meaning), key=lambda h: -meaning[h.question_id])
        return scored + [h for h in hits if h.question_id not in meaning]

    async def reply(self, network: str, query: str, lang: str) -> Reply:
        """The search as a command answer in the caller's language."""
        shown_query = query.strip()[:80]
        if not words(query):
            return Reply(plain(self.catalog.t("reply.search_bad", lang)))
        hits = await self.search(network, query, lang)
        if not hits:
            return Reply(plain(self.catalog.t("reply.search_none", lang, query=shown_query)))
        out: list[Segment] = [Text(self.catalog.t("reply.search_header", lang, query=shown_query))]
        for hit in hits:
            ref = f"#{hit.question_id}" + (f" (↩ #{hit.message_id})" if hit.message_id != hit.question_id else "")
            out += [LineBreak(), Text(f"• {ref} {hit.city} [{hit.lang}]: {hit.snippet}")]
        out += [LineBreak(), Text(self.catalog.t("copy.original", lang, id="<n>"))]
        return Reply(tuple(out))
