"""The learned half of the tagger: per-topic logistic regressions over sentence embeddings and words.

The lexicon (:mod:`bot.topics`) is precise and explains itself, but it only
knows the words someone listed; staff mostly describe a practice without naming
its topic ("we put two-step codes on every shared inbox"). A linear classifier
over multilingual sentence embeddings generalises to those, in all three
languages at once. Beside the eleven topic classifiers sits a twelfth, the
chatter gate: "is this message about any topic at all?", which keeps greetings,
logistics and passing mentions ("the budget hotel is fine") untagged.

Everything here is plain numpy so training is deterministic (same rows, same
weights). Two more signals join the regressions' probabilities, each with the
weight cross-validation gave it: word-gram regressions over the message's own
words (:class:`bot.word_grams.WordGrams`: the embedding blurs the trade words
that settle a topic), and a nearest-neighbour vote over the training messages
(:class:`Neighbours`, in a 64-dimensional projection): a message close to
labelled ones borrows their topics, which catches the second topic of a
multi-topic message a little more often. How the lexicon and the probabilities
are combined is :func:`decide`, shared by the running tagger and the training
code so the figures measure what runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.errors import ConfigError
from bot.word_grams import WordGrams

Matrix = npt.NDArray[np.float32]
SHIPPED_MODEL = "model.npz"
MAX_TOPICS = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How the lexicon and the classifiers are combined (chosen by cross-validation on train).

    * ``topic``: a classifier probability at or above it adds the topic.
    * ``gate``: classifier-only topics need the chatter gate's P(topical) at or above it.
    * ``lexicon_gate``: lexicon topics are dropped when P(topical) is below it, unless
      the lexicon's evidence is ``strong_lexicon`` or more ("matched 'Housing First'").
    * ``fallback``: a message the gate calls topical that got no topic otherwise takes
      its most probable topic if that reaches this (1.0: never).
    """

    topic: float = 0.5
    gate: float = 0.5
    lexicon_gate: float = 0.0
    strong_lexicon: float = 2.0
    fallback: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {
            "topic": self.topic,
            "gate": self.gate,
            "lexicon_gate": self.lexicon_gate,
            "strong_lexicon": self.strong_lexicon,
            "fallback": self.fallback,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Neighbours:
    """A vote of the training messages nearest to a message, blended into the classifiers' probabilities.

    The training embeddings are kept centred and projected on their ``d`` main
    axes (``projection``, ``(dim, d)``) and re-normalised, so cosine similarity
    in that space stands in for the full one; the rows are kept as bytes
    (``vectors / scale`` is the row), about 250 KB in all for the shipped
    corpus. The ``k`` most similar messages vote with weights
    ``softmax(similarity / temperature)``; ``labels`` holds each message's topics
    and, last, whether it has any (the gate's target). The vote enters the
    probabilities with ``weight``: ``(1 - weight) · classifier + weight · vote``.
    """

    mean: Matrix  # (dim,)
    projection: Matrix  # (dim, d)
    vectors: npt.NDArray[np.int8]  # (messages, d): unit rows times ``scale``, rounded
    scale: float
    labels: npt.NDArray[np.uint8]  # (messages, topics + 1), 0/1
    k: int
    temperature: float
    weight: float

    @classmethod
    def build(
        cls, vectors: Matrix, labels: npt.NDArray[np.float64], dims: int, k: int, temperature: float, weight: float
    ) -> Neighbours:
        """Project ``vectors`` on their ``dims`` main axes (deterministic: an SVD, no sampling)."""
        x = vectors.astype(np.float64)
        mean = x.mean(axis=0)
        _, _, axes = np.linalg.svd(x - mean, full_matrices=False)
        projection = axes[:dims].T
        rows = _unit((x - mean) @ projection)
        scale = 127.0 / max(float(np.abs(rows).max()), 1e-12)
        return cls(
            mean=mean.astype(np.float32),
            projection=projection.astype(np.float32),
            vectors=np.round(rows * scale).astype(np.int8),
            scale=scale,
            labels=labels.astype(np.uint8),
            k=k,
            temperature=temperature,
            weight=weight,
        )

    def vote(self, vectors: Matrix) -> Matrix:
        """The neighbours' vote ``(n, topics + 1)`` for embedded messages."""
        queries = _unit((vectors - self.mean) @ self.projection)
        similarity = queries @ self.vectors.T.astype(np.float32) / np.float32(self.scale)
        k = min(self.k, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        chosen = np.take_along_axis(similarity, nearest, axis=1)
        weights = np.exp((chosen - chosen.max(axis=1, keepdims=True)) / self.temperature)
        weights /= weights.sum(axis=1, keepdims=True)
        out: Matrix = np.einsum("ij,ijk->ik", weights, self.labels[nearest].astype(np.float32)).astype(np.float32)
        return out

    def blend(self, probabilities: Matrix, vectors: Matrix) -> Matrix:
        """``probabilities`` (topics then P(topical), ``(n, topics + 1)``) with the vote mixed in."""
        out: Matrix = ((1.0 - self.weight) * probabilities + self.weight * self.vote(vectors)).astype(np.float32)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class TopicModel:
    """Weights of the topic classifiers and the chatter gate, for one embedder."""

    embedder: str
    slugs: tuple[str, ...]
    weights: Matrix  # (topics, dim)
    bias: Matrix  # (topics,)
    gate_weights: Matrix  # (dim,)
    gate_bias: float
    thresholds: Thresholds
    info: Mapping[str, Any] = field(default_factory=dict)  # training figures, data fingerprint
    neighbours: Neighbours | None = None
    grams: WordGrams | None = None

    def probabilities(self, vectors: Matrix, texts: Sequence[str]) -> tuple[Matrix, Matrix]:
        """Per-topic probabilities ``(n, topics)`` and P(topical) ``(n,)`` for messages and their embeddings.

        The embedding classifiers' probabilities, averaged with the word-gram
        classifiers' if the model has them, then the neighbours' vote mixed in:
        the order training chose the weights in.
        """
        both = np.hstack(
            [
                _sigmoid(vectors @ self.weights.T + self.bias),
                _sigmoid(vectors @ self.gate_weights + np.float32(self.gate_bias))[:, None],
            ]
        )
        if self.grams is not None:
            both = self.grams.blend(both, texts)
        if self.neighbours is not None:
            both = self.neighbours.blend(both, vectors)
        return both[:, :-1], both[:, -1]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "embedder": self.embedder,
            "slugs": list(self.slugs),
            "thresholds": self.thresholds.as_dict(),
            "gate_bias": float(self.gate_bias),
            "info": dict(self.info),
        }
        arrays: dict[str, Any] = {}
        if self.neighbours is not None:
            nb = self.neighbours
            meta["neighbours"] = {"k": nb.k, "temperature": nb.temperature, "weight": nb.weight, "scale": nb.scale}
            arrays = {
                "neighbour_mean": nb.mean,
                "neighbour_projection": nb.projection,
                "neighbour_vectors": nb.vectors,
                "neighbour_labels": nb.labels,
            }
        if self.grams is not None:
            meta["grams"] = {"weight": self.grams.weight}
            arrays |= {
                "gram_keys": self.grams.keys,
                "gram_idf": self.grams.idf,
                "gram_weights": self.grams.weights,
                "gram_bias": self.grams.bias,
            }
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                weights=self.weights.astype(np.float32),
                bias=self.bias.astype(np.float32),
                gate_weights=self.gate_weights.astype(np.float32),
                meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
                **arrays,
            )

    @classmethod
    def load(cls, path: Path | None = None) -> TopicModel:
        """Read a model file (default: the one shipped in ``bot/data/topics``)."""
        source: Any = path if path is not None else resources.files("bot") / "data" / "topics" / SHIPPED_MODEL
        try:
            with source.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                weights = np.asarray(data["weights"], dtype=np.float32)
                bias = np.asarray(data["bias"], dtype=np.float32)
                gate_weights = np.asarray(data["gate_weights"], dtype=np.float32)
                neighbours = _read_neighbours(data, meta.get("neighbours"))
                grams = _read_grams(data, meta.get("grams"))
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"topic model {source}: {exc}") from exc
        slugs = tuple(str(s) for s in meta["slugs"])
        if weights.shape[0] != len(slugs) or bias.shape != (len(slugs),) or gate_weights.shape != weights.shape[1:]:
            raise ConfigError(f"topic model {source}: weight shapes do not match its {len(slugs)} topics")
        if neighbours is not None and (
            neighbours.labels.shape != (len(neighbours.vectors), len(slugs) + 1)
            or neighbours.projection.shape != (weights.shape[1], neighbours.vectors.shape[1])
        ):
            raise ConfigError(f"topic model {source}: neighbour shapes do not match its {len(slugs)} topics")
        if grams is not None and (
            grams.weights.shape != (len(slugs) + 1, len(grams.keys))
            or grams.idf.shape != grams.keys.shape
            or grams.bias.shape != (len(slugs) + 1,)
        ):
            raise ConfigError(f"topic model {source}: word-gram shapes do not match its {len(slugs)} topics")
        return cls(
            embedder=str(meta["embedder"]),
            slugs=slugs,
            weights=weights,
            bias=bias,
            gate_weights=gate_weights,
            gate_bias=float(meta["gate_bias"]),
            thresholds=Thresholds(**{k: float(v) for k, v in meta["thresholds"].items()}),
            info=meta.get("info", {}),
            neighbours=neighbours,
            grams=grams,
        )


def _read_grams(data: Any, settings: Mapping[str, Any] | None) -> WordGrams | None:
    """The stored word-gram classifiers, or None for a model file without them (older files)."""
    if settings is None:
        return None
    return WordGrams(
        keys=np.asarray(data["gram_keys"], dtype=np.uint32),
        idf=np.asarray(data["gram_idf"], dtype=np.float32),
        weights=np.asarray(data["gram_weights"], dtype=np.float16),
        bias=np.asarray(data["gram_bias"], dtype=np.float32),
        weight=float(settings["weight"]),
    )


def _read_neighbours(data: Any, settings: Mapping[str, Any] | None) -> Neighbours | None:
    """The stored neighbour vote, or None for a model file without one (older files)."""
    if settings is None:
        return None
    return Neighbours(
        mean=np.asarray(data["neighbour_mean"], dtype=np.float32),
        projection=np.asarray(data["neighbour_projection"], dtype=np.float32),
        vectors=np.asarray(data["neighbour_vectors"], dtype=np.int8),
        scale=float(settings["scale"]),
        labels=np.asarray(data["neighbour_labels"], dtype=np.uint8),
        k=int(settings["k"]),
        temperature=float(settings["temperature"]),
        weight=float(settings["weight"]),
    )


def decide(
    lexicon_topics: Sequence[str],
    lexicon_scores: Mapping[str, float],
    probabilities: Mapping[str, float],
    topical: float,
    thresholds: Thresholds,
) -> tuple[str, ...]:
    """The union of the lexicon's and the classifiers' topics, behind the chatter gate.

    Best first: topics both halves agree on, then the rest by probability.
    """
    strong = max((lexicon_scores.get(t, 0.0) for t in lexicon_topics), default=0.0) >= thresholds.strong_lexicon
    chosen: dict[str, float] = {}
    if topical >= thresholds.lexicon_gate or strong:
        for slug in lexicon_topics:
            chosen[slug] = 1.0 + probabilities.get(slug, 0.0)
    if topical >= thresholds.gate:
        for slug, p in probabilities.items():
            if p >= thresholds.topic and slug not in chosen:
                chosen[slug] = p
        if not chosen and probabilities:
            slug = max(probabilities, key=lambda s: probabilities[s])
            if probabilities[slug] >= thresholds.fallback:
                chosen[slug] = probabilities[slug]
    ranked = sorted(chosen, key=lambda s: -chosen[s])
    return tuple(ranked[:MAX_TOPICS])


def fit_logistic(
    features: Matrix, labels: npt.NDArray[np.float64], l2: float, iterations: int = 400
) -> tuple[Matrix, Matrix]:
    """L2-regularised logistic regressions, one per label column, by accelerated gradient descent.

    Full-batch Nesterov steps of size 1/L, where L bounds the curvature of the
    mean log-loss (features are unit vectors), from zero weights: no randomness,
    so the same rows give the same weights. Returns ``(weights (k, dim), bias (k,))``.
    """
    x = features.astype(np.float64)
    y = labels.astype(np.float64).reshape(len(x), -1)
    n, dim = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    spectral = float(np.linalg.norm(design, 2)) ** 2
    step = 1.0 / (0.25 * spectral / n + l2)
    penalty = np.full((dim + 1, 1), l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    w = np.zeros((dim + 1, y.shape[1]))
    previous = w.copy()
    for k in range(1, iterations + 1):
        look = w + (k - 1) / (k + 2) * (w - previous)
        grad = design.T @ (_sigmoid64(design @ look) - y) / n + penalty * look
        previous = w
        w = look - step * grad
    return w[:-1].T.astype(np.float32), w[-1].astype(np.float32)


def _unit(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: npt.NDArray[Any] = x / np.maximum(norms, 1e-12)
    return out


def _sigmoid(z: Matrix) -> Matrix:
    out: Matrix = (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)
    return out


def _sigmoid64(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return out
