"""Similar past questions, across languages: "someone already asked this".

When a question is asked, earlier questions of the same network are found two
ways: the cross-lingual full-text index (the question's own words against the
originals and their stored translations, all history) and the most recent
questions' vectors (which bridge languages even without a translation engine).
Every candidate is then scored by meaning with the shared sentence embedder and
only those above a calibrated threshold are suggested, so an unrelated question
gets no suggestion at all.

Scoring is the cosine of *language-centred* vectors: each vector minus the mean
vector of its language. USE-multilingual puts two questions in one language
closer than the same question in two languages; removing each language's mean
removes most of that pull, and also the "any city question" direction every
message shares. The means are the network's own running sums, blended with a
shipped prior (``bot/data/similar/prior.json``) so a young network scores the
same way. The threshold was chosen by cross-validation on
``tests/data/similar_tuning.jsonl`` (see ``benchmarks/similar_eval.py``).

Embedding and searching run in a worker thread after the question and its
copies are committed, so the relay never waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bot.config import SIMILAR_THRESHOLD
from bot.events import LANGUAGES
from bot.i18n import Catalog
from bot.ports import Embedder
from bot.richtext import LineBreak, Segment, Text, to_plain
from bot.search import WORD
from bot.store import Store
from bot.store.vectors import Candidates, QuestionVectors
from bot.vectors import Matrix, Vector, normalised

log = logging.getLogger(__name__)
T = TypeVar("T")
DATA = Path(__file__).with_name("data") / "similar"
MAX_CHARS = 1000  # what is embedded of a long question: its opening says what it is about
SNIPPET = 140
SHOWN = 3


@dataclass(frozen=True, slots=True)
class Tuning:
    """The knobs, with the values the tuning set chose."""

    threshold: float = SIMILAR_THRESHOLD  # [similar] threshold in config.toml
    prior_weight: float = 20.0  # how many questions the shipped prior mean counts as
    window: int = 2000  # most recent questions compared by vector alone
    fts_limit: int = 100  # full-text candidates per index (originals, translations)
    max_terms: int = 10
    max_rows: int = 1000  # words in more rows of an index than this are left out of its search


@dataclass(frozen=True, slots=True)
class SimilarQuestion:
    """An earlier question like the one just asked, as the asker sees it.

    ``text`` is in the asker's language when a translation is stored (``lang``
    says which it is); ``message_id`` is the number ``/agora original`` takes.
    """

    message_id: int
    city: str
    text: str
    lang: str
    answers: int
    score: float
    asked_at: float

    def as_json(self) -> dict[str, Any]:
        """The web API's fields (``Reply.data["similar"]``)."""
        return {
            "message_id": self.message_id,
            "city": self.city,
            "text": self.text,
            "answers": self.answers,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class Match:
    """An earlier question and how close it is (centred cosine)."""

    message_id: int
    score: float


@functools.cache
def stopwords() -> frozenset[str]:
    lines = (DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


@functools.cache
def prior_means(model: str) -> dict[str, Vector]:
    """Shipped per-language mean vectors for ``model`` (empty for another model)."""
    raw = json.loads((DATA / "prior.json").read_text(encoding="utf-8"))
    if raw.get("model") != model:
        return {}
    return {lang: np.asarray(values, dtype=np.float32) for lang, values in raw["means"].items()}


def search_terms(text: str, limit: int) -> list[str]:
    """The question's content words, longest first (the rarer ones, usually)."""
    stop = stopwords()
    kept = [w for w in dict.fromkeys(words_all(text)) if len(w) > 2 and w not in stop and not w.isdigit()]
    return sorted(kept, key=len, reverse=True)[:limit]


def words_all(text: str) -> list[str]:
    """Every plain word of a text, accents folded (``bot.search.words`` keeps only twelve)."""
    folded = unicodedata.normalize("NFKD", text[:MAX_CHARS])
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w.lower() for w in WORD.findall(folded) if w.strip("_")]


def centred_scores(query: Vector, lang: str, found: Candidates, means: dict[str, Vector]) -> Matrix:
    """Cosine between the query and each candidate after removing each one's language mean.

    Computed without building the centred candidate matrix: with ``m`` a
    candidate's language mean, ``(c - m)·q = c·q - m·q`` and
    ``|c - m|² = |c|² - 2 c·m + |m|²``, so one pass over the candidates suffices.
    """
    zero = np.zeros_like(query)
    q = normalised((query - means.get(lang, zero))[None, :])[0]
    langs = sorted(set(found.langs))
    table = np.stack([means.get(lang_, zero) for lang_ in langs]) if langs else np.zeros((0, query.size), np.float32)
    which = np.array([langs.index(lang_) for lang_ in found.langs], dtype=np.intp)
    vectors = found.vectors
    dots = vectors @ q - (table @ q)[which]
    to_means = (vectors @ table.T)[np.arange(len(which)), which]
    squared = np.einsum("ij,ij->i", vectors, vectors) - 2 * to_means + np.einsum("ij,ij->i", table, table)[which]
    return np.asarray(dots / np.sqrt(np.maximum(squared, 1e-12)), dtype=np.float32)


def _lower_priority() -> None:
    """Let the event loop (the relay's deliveries) win the CPU when both want it (Linux: per-thread nice)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class RecentQuestions:
    """The vectors of each network's most recent questions, kept in memory.

    Bounded by the window (2,000 questions: 4 MB of float32 per network, for at
    most 16 networks at once), not by history; loaded from the table on first use,
    then kept current as questions are stored. Read from worker threads, written from the event loop: a lock
    guards the swap.
    """

    def __init__(self, vectors: QuestionVectors, size: int, networks: int = 16) -> None:
        self.vectors = vectors
        self.size = size
        self.networks = networks  # windows kept at once, least recently used dropped first
        self._lock = threading.Lock()
        self._windows: OrderedDict[str, Candidates] = OrderedDict()

    def get(self, network: str) -> Candidates:
        with self._lock:
            found = self._windows.get(network)
            if found is not None:
                self._windows.move_to_end(network)
        if found is None:
            loaded = self.vectors.recent(network, self.size)
            with self._lock:
                found = self._windows.setdefault(network, loaded)
                while len(self._windows) > self.networks:
                    self._windows.popitem(last=False)
        return found

    def forget(self, network: str) -> None:
        """Drop a network's window (an edit changed a vector in it); it reloads when next needed."""
        with self._lock:
            self._windows.pop(network, None)

    def add(self, network: str, message_id: int, lang: str, vector: Vector) -> None:
        with self._lock:
            window = self._windows.get(network)
            if window is None:
                return  # loaded from the table, this one included, when first needed
            keep = self.size - 1
            self._windows[network] = Candidates(
                (message_id, *window.ids[:keep]),
                (lang, *window.langs[:keep]),
                np.concatenate([np.asarray(vector, dtype=np.float32)[None, :], window.vectors[:keep]]),
            )


class SimilarQuestions:
    """Finds, stores and describes similar questions for one running Agora."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        catalog: Catalog,
        tuning: Tuning | None = None,
        database: Path | str | None = None,
    ) -> None:
        """``database``: what the store was opened from, so the worker thread can open its own reader."""
        self.store = store
        self.embedder = embedder
        self.catalog = catalog
        self.tuning = tuning or Tuning()
        self.vectors = QuestionVectors(store.db, embedder.name, embedder.dim, database)
        self.recent = RecentQuestions(self.vectors, self.tuning.window)
        self._pending: set[asyncio.Future[list[Match]]] = set()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="agora-similar", initializer=_lower_priority)

    # ------------------------------------------------------------ finding (worker thread)

    async def _off_loop(self, func: Callable[..., T], *args: Any) -> T:
        """Run on the suggestion thread: one thread, at a lower CPU priority than the event loop's."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(func, *args))

    def embed(self, text: str) -> Vector:
        vector: Vector = np.asarray(self.embedder.embed([text[:MAX_CHARS]]), dtype=np.float32)[0]
        return vector

    def means(self, network: str) -> dict[str, Vector]:
        """Each language's mean question vector: the network's own, pulled towards the prior."""
        prior = prior_means(self.embedder.name)
        sums = self.vectors.sums(network)
        weight = self.tuning.prior_weight
        out: dict[str, Vector] = {}
        for lang in LANGUAGES:
            base = prior.get(lang)
            own = sums.get(lang)
            if own is None or own.count == 0:
                if base is not None:
                    out[lang] = base
                continue
            total = own.total + (base * weight if base is not None else 0.0)
            out[lang] = np.asarray(total / (own.count + (weight if base is not None else 0.0)), dtype=np.float32)
        return out

    def candidates(self, network: str, text: str, exclude: int | None) -> Candidates:
        """Recent questions by vector, plus older ones the full-text index finds."""
        recent = self.recent.get(network)
        if exclude in recent.ids:
            keep = [i for i, mid in enumerate(recent.ids) if mid != exclude]
            recent = Candidates(
                tuple(recent.ids[i] for i in keep), tuple(recent.langs[i] for i in keep), recent.vectors[keep]
            )
        terms = search_terms(text, self.tuning.max_terms)
        older: list[int] = []
        if terms:
            seen = set(recent.ids)
            hits = self.vectors.matching(network, terms, self.tuning.fts_limit, self.tuning.max_rows, exclude)
            older = [i for i in hits if i not in seen]
        if not older:
            return recent
        extra = self.vectors.of(older)
        return Candidates(
            recent.ids + extra.ids, recent.langs + extra.langs, np.concatenate([recent.vectors, extra.vectors])
        )

    def rank(self, network: str, text: str, lang: str, vector: Vector, exclude: int | None = None) -> list[Match]:
        """Candidates above the threshold, best first."""
        found = self.candidates(network, text, exclude)
        if not found.ids:
            return []
        scores = centred_scores(vector, lang, found, self.means(network))
        order = np.argsort(-scores)
        return [Match(found.ids[i], float(scores[i])) for i in order[: SHOWN * 4] if scores[i] >= self.tuning.threshold]

    def find(
        self, network: str, text: str, lang: str, exclude: int | None = None, vector: Vector | None = None
    ) -> tuple[Vector, list[Match]]:
        """Blocking: embed (unless given) and rank. Call from a worker thread."""
        if vector is None:
            vector = self.embed(text)
        return vector, self.rank(network, text, lang, vector, exclude)

    # ------------------------------------------------------------ on the event loop

    async def suggest(self, network: str, message_id: int, text: str, lang: str) -> list[Match]:
        """Matches for a question just stored; also stores its vector for the questions to come.

        The vector is stored even if the caller stops waiting (a timeout), so the
        question is found later all the same.
        """
        task = asyncio.ensure_future(self._find_and_store(network, message_id, text, lang))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return await asyncio.shield(task)

    async def _find_and_store(self, network: str, message_id: int, text: str, lang: str) -> list[Match]:
        vector, matches = await self._off_loop(self.find, network, text, lang, message_id)
        self.store_vector(message_id, network, lang, vector)
        return matches

    def store_vector(self, message_id: int, network: str, lang: str, vector: Vector) -> None:
        """Keep a question's vector (table and recent window) for the questions to come."""
        if self.vectors.add(message_id, network, lang, vector):
            self.recent.add(network, message_id, lang, vector)

    async def refresh(self, message_id: int) -> None:
        """After an edit: the question's vector follows its new text (other messages have none)."""
        msg = self.store.message(message_id)
        if msg is None or self.vectors.vector(message_id) is None:
            return
        try:
            vector = await self._off_loop(self.embed, to_plain(msg.text))
        except Exception:
            log.exception("question %d keeps its old vector after an edit", message_id)
            return
        if self.vectors.replace(message_id, vector):
            self.recent.forget(msg.network)

    async def close(self, grace: float = 5.0) -> None:
        """Let suggestions in flight store their vectors before the database closes."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=grace)
        self._executor.submit(self.vectors.close_reader)  # on the thread that opened it
        self._executor.shutdown(wait=False)

    async def like(self, message_id: int) -> list[Match]:
        """Questions similar to any stored message (a question or an answer)."""
        msg = self.store.message(message_id)
        if msg is None:
            return []
        stored = self.vectors.vector(message_id)
        vector = stored[1] if stored else None
        _, matches = await self._off_loop(self.find, msg.network, to_plain(msg.text), msg.lang, message_id, vector)
        return matches

    async def by_meaning(self, network: str, query: str, lang: str, ids: Sequence[int]) -> dict[int, float]:
        """For search: scores of ``ids`` (word matches) plus any other question over the threshold."""
        return await self._off_loop(self._by_meaning, network, query, lang, list(ids))

    def _by_meaning(self, network: str, query: str, lang: str, ids: list[int]) -> dict[int, float]:
        vector = self.embed(query)
        found = self.candidates(network, query, None)
        known = set(found.ids)
        missing = [i for i in ids if i not in known]
        extra = self.vectors.of(missing)
        both = Candidates(
            found.ids + extra.ids, found.langs + extra.langs, np.concatenate([found.vectors, extra.vectors])
        )
        if not both.ids:
            return {}
        scores = centred_scores(vector, lang, both, self.means(network))
        wanted = set(ids)
        return {
            mid: float(score)
            for mid, score in zip(both.ids, scores, strict=True)
            if mid in wanted or score >= self.tuning.threshold
        }

    async def index_backlog(self, batch: int = 64) -> int:
        """Give a vector to every question stored before suggestions existed (run once at start)."""
        done = 0
        while rows := self.vectors.unindexed(batch):
            texts = [text[:MAX_CHARS] for _, _, _, text in rows]
            vectors = await self._off_loop(self.embedder.embed, texts)
            for (message_id, network, lang, _), vector in zip(rows, vectors, strict=True):
                self.store_vector(message_id, network, lang, np.asarray(vector, dtype=np.float32))
            done += len(rows)
        return done

    def describe(self, matches: list[Match], lang: str) -> tuple[SimilarQuestion, ...]:
        """Up to three matches as the asker sees them: in their language where a translation is stored."""
        out: list[SimilarQuestion] = []
        for match in matches:
            msg = self.store.message(match.message_id)
            if msg is None or msg.deleted or not to_plain(msg.text).strip():  # deleted, or its content erased
                continue
            shown = self.store.message_translation(msg.id, lang) if msg.lang != lang else None
            text = to_plain(shown.text if shown and shown.translated else msg.text).replace("\n", " ").strip()
            out.append(
                SimilarQuestion(
                    message_id=msg.id,
                    city=msg.city,
                    text=text if len(text) <= SNIPPET else text[: SNIPPET - 1].rstrip() + "…",
                    lang=shown.lang if shown and shown.translated else msg.lang,
                    answers=len(self.store.replies(msg.id)),
                    score=round(match.score, 3),
                    asked_at=msg.created_at,
                )
            )
            if len(out) == SHOWN:
                break
        return tuple(out)

    def lines(self, found: tuple[SimilarQuestion, ...], lang: str) -> list[Segment]:
        """One line per suggestion: city, date, question, answers, how to open it."""
        out: list[Segment] = []
        for q in found:
            if q.answers == 0:
                answers = self.catalog.t("reply.similar_no_answers", lang)
            elif q.answers == 1:
                answers = self.catalog.t("reply.similar_one_answer", lang)
            else:
                answers = self.catalog.t("reply.similar_answers", lang, count=q.answers)
            item = self.catalog.t(
                "reply.similar_item",
                lang,
                city=q.city,
                date=time.strftime("%Y-%m-%d", time.gmtime(q.asked_at)),
                text=q.text,
                answers=answers,
                id=q.message_id,
            )
            out += [LineBreak(), Text(item)]
        return out
