"""The tagger the relay uses: lexicon ∪ embedding classifiers, thread context, managers' corrections.

* The lexicon (:mod:`bot.topics`) keeps precision and says why ("matched
  'situación de calle'"); the classifiers of :mod:`bot.topic_model` add the
  messages that describe a practice without naming it; the chatter gate keeps
  greetings, logistics and passing mentions untagged.
* A reply inherits its question's topics (answers rarely repeat the topic's
  words) unless it clearly moves elsewhere or is only small talk.
* A manager's ``/agora tag <id> +topic -topic`` is remembered per network with
  the message's embedding; a new message close enough to a corrected one gets
  the same correction at once, before any retraining.

Without an embedder (the package missing) it degrades to the lexicon alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from bot.errors import ConfigError
from bot.ports import Embedder
from bot.store import Store
from bot.topic_model import MAX_TOPICS, Matrix, TopicModel, decide
from bot.topics import Tagger, TagResult

log = logging.getLogger(__name__)

# Cosine above which a new message counts as "the same kind of message" as a corrected one. USE-multilingual
# puts paraphrases and translations of one message around 0.8-0.95 and different questions on the same topic
# around 0.4-0.7, so a correction reaches rewordings and other languages but not the whole topic.
SIMILAR = 0.8
_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Correction:
    """A manager's correction of one message, as the nearest-neighbour index keeps it."""

    message_id: int
    vector: Matrix
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tagging:
    """The topics of a message and where they came from.

    ``lexicon`` carries the evidence ("matched 'Housing First'"); ``probabilities``
    and ``topical`` are the classifiers' view (empty without an embedder);
    ``inherited`` are the topics taken from the thread's question;
    ``corrected_by`` is the id of the corrected message whose correction applied.
    """

    topics: tuple[str, ...]
    lexicon: TagResult
    probabilities: Mapping[str, float] = field(default_factory=dict)
    topical: float = 1.0
    inherited: tuple[str, ...] = ()
    corrected_by: int | None = None


class TopicTagger:
    """Tags messages for the relay; one per running bot, sharing the app's embedder."""

    def __init__(
        self,
        lexicon: Tagger,
        embedder: Embedder | None = None,
        model: TopicModel | None = None,
        corrections: Callable[[str], Sequence[Correction]] | None = None,
        similar: float = SIMILAR,
    ) -> None:
        if model is not None and embedder is not None and model.embedder != embedder.name:
            log.warning("topic model was trained on %s, not %s: using the lexicon only", model.embedder, embedder.name)
            model = None
        self.lexicon = lexicon
        self.embedder = embedder  # also without a model: corrections still reach similar messages
        self.model = model
        self.similar = similar
        self._load_corrections = corrections
        # Per network, replaced whole (never mutated) so the tagging thread always reads a consistent snapshot.
        self._corrections: dict[str, CorrectionIndex] = {}

    @property
    def learned(self) -> bool:
        """True when the embedding classifiers take part (False: lexicon only)."""
        return self.model is not None

    def embed(self, text: str) -> Matrix | None:
        """The message's embedding, or None without a working embedder.

        An embedder that fails (its package broken, its model unreadable) is
        dropped after logging once: tagging goes on with the lexicon alone
        rather than losing the message it was tagging.
        """
        if self.embedder is None:
            return None
        try:
            vector: Matrix = np.asarray(self.embedder.embed([text]), dtype=np.float32)[0]
        except Exception:
            log.exception("sentence embedder %s failed: topics from the lexicon alone from now on", self.embedder.name)
            self.embedder = None
            self.model = None
            return None
        return vector

    def tag(self, text: str, lang: str, *, network: str | None = None, thread: Sequence[str] = ()) -> Tagging:
        """Tag ``text``; ``thread`` is the topics of the question it replies to, if any."""
        lexicon = self.lexicon.tag(text, lang)
        vector = self.embed(text) if text.strip() else None
        if self.model is None or vector is None:
            own: tuple[str, ...] = lexicon.topics
            probabilities, topical = _EMPTY, 1.0
        else:
            probs, gate = self.model.probabilities(vector[None, :], [text])
            probabilities = MappingProxyType({s: float(probs[0, k]) for k, s in enumerate(self.model.slugs)})
            topical = float(gate[0])
            own = decide(lexicon.topics, lexicon.scores, probabilities, topical, self.model.thresholds)
        topics, inherited = self._with_thread(own, thread, lexicon, probabilities, topical)
        corrected_by = None
        if network is not None and vector is not None:
            correction = self.nearest_correction(network, vector)
            if correction is not None:
                corrected_by = correction.message_id
                topics = apply(topics, correction.added, correction.removed)
        return Tagging(topics, lexicon, probabilities, topical, inherited, corrected_by)

    def _with_thread(
        self,
        own: tuple[str, ...],
        thread: Sequence[str],
        lexicon: TagResult,
        probabilities: Mapping[str, float],
        topical: float,
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Inherit the question's topics unless the reply is small talk or clearly about something else.

        Small talk: no topic of its own and the chatter gate below half its bar
        ("thanks, that helps!"). Elsewhere: confident topics of its own (the
        lexicon's, or a probability over the bar) that share none with the
        question's, while the classifiers give none of the question's topics
        even half the probability that would tag them. A vague but topical reply
        ("yes, we started that last spring") is about its question.
        """
        if not thread:
            return own, ()
        confident = own
        if self.model is not None:
            bar = self.model.thresholds
            if not own and topical < bar.gate / 2:
                return own, ()
            confident = tuple(t for t in own if t in lexicon.topics or probabilities.get(t, 0.0) >= bar.topic)
            elsewhere = bool(confident) and not set(confident) & set(thread)
            if elsewhere and all(probabilities.get(t, 0.0) < bar.topic / 2 for t in thread):
                return confident, ()
        elif own and not set(own) & set(thread):
            return own, ()
        inherited = tuple(t for t in thread if t not in confident)
        merged = tuple(dict.fromkeys([*[t for t in thread if t in confident], *confident, *inherited]))
        return merged[:MAX_TOPICS], inherited

    # -- corrections -----------------------------------------------------------------------------

    def nearest_correction(self, network: str, vector: Matrix) -> Correction | None:
        """The most similar corrected message of ``network``, if it is similar enough."""
        index = self.prepare(network)
        if not index.corrections:
            return None
        sims = index.matrix @ vector
        best = int(np.argmax(sims))
        return index.corrections[best] if float(sims[best]) >= self.similar else None

    def remember(self, network: str, correction: Correction) -> None:
        """A correction was just stored: use it for the next message."""
        known = self.prepare(network).corrections
        kept = [c for c in known if c.message_id != correction.message_id]
        self._corrections[network] = CorrectionIndex.of([*kept, correction])

    def prepare(self, network: str | None) -> CorrectionIndex:
        """``network``'s corrections, read from the store on first use.

        The store's connection belongs to the event loop's thread: call this
        there before tagging in a worker thread, which then only reads the cache.
        """
        if network is None:
            return CorrectionIndex.of([])
        cached = self._corrections.get(network)
        if cached is None:
            loaded = self._load_corrections(network) if self._load_corrections else []
            dim = self.embedder.dim if self.embedder is not None else 0
            cached = CorrectionIndex.of([c for c in loaded if c.vector.shape == (dim,)])  # other embedders': unusable
            self._corrections[network] = cached
        return cached


@dataclass(frozen=True, slots=True, eq=False)
class CorrectionIndex:
    """A network's corrections and their embeddings stacked for one matrix product."""

    corrections: tuple[Correction, ...]
    matrix: Matrix

    @classmethod
    def of(cls, corrections: Sequence[Correction]) -> CorrectionIndex:
        matrix = np.stack([c.vector for c in corrections]) if corrections else np.zeros((0, 0), dtype=np.float32)
        return cls(tuple(corrections), matrix)


def apply(topics: Sequence[str], added: Sequence[str], removed: Sequence[str]) -> tuple[str, ...]:
    """``topics`` with a correction applied: added ones first, removed ones gone, at most three."""
    kept = [t for t in topics if t not in removed and t not in added]
    return tuple([*added, *kept][:MAX_TOPICS])


def trained_model_path(database: Path) -> Path:
    """Where ``agora topics train`` writes the retrained classifiers: beside the database."""
    return database.with_name(f"{database.stem}-topics.npz")


def load_topic_model(database: Path | None = None) -> TopicModel | None:
    """The retrained model beside ``database`` if there is one, else the shipped one (None if neither loads)."""
    local = trained_model_path(database) if database is not None and str(database) != ":memory:" else None
    try:
        if local is not None and local.exists():
            log.info("topic classifiers from %s", local)
            return TopicModel.load(local)
        return TopicModel.load()
    except ConfigError as exc:
        log.warning("no topic classifiers (%s): topics from the lexicon only", exc)
        return None


def corrections_loader(store: Store) -> Callable[[str], list[Correction]]:
    """Reads a network's stored corrections (those with an embedding) for the nearest-neighbour index."""

    def load(network: str) -> list[Correction]:
        return [
            Correction(c.message_id, np.frombuffer(c.vector, dtype=np.float32).copy(), c.added, c.removed)
            for c in store.tag_corrections(network)
            if c.vector
        ]

    return load
