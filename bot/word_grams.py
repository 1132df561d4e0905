"""The tagger's second learned signal: logistic regressions over the message's own words.

The sentence embedding generalises across wordings and languages, but it blurs
the words that settle a topic in this forum's trade ("desalojo", "PIT count",
"tarifa social", "MFA"): a message about eviction moratoria lands near one about
shelter beds. A bag of the message's words, five-letter stems and word pairs,
weighted tf-idf, with one logistic regression per topic learned from the same
labelled corpus, keeps those words; averaged with the embedding classifiers'
probabilities (the weight chosen by cross-validation) it cut the out-of-fold
log-loss on the training corpus from 0.164 to 0.144, and the two err on
different messages.

Grams are hashed (CRC-32: the same on every machine and run, unlike ``hash``)
into a sorted table of the hashes seen in at least three training messages, so
the model file holds numbers only and a lookup is a binary search. Weights are
kept as float16 (half the memory; the probabilities move by under 0.001).
Plain numpy, deterministic: the same rows give the same weights.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.topics import fold

Matrix = npt.NDArray[np.float32]
Hashes = npt.NDArray[np.uint32]
_WORD = re.compile(r"\w+")
STEM = 5  # letters kept of a longer word: "inquilinos" and "inquilino" share "inqui"
MIN_MESSAGES = 3  # rarer grams say more about their messages than their topics (and 3 keeps 19k grams, not 33k)


def grams(text: str) -> list[str]:
    """The words (lower case, accents folded), stems of longer words, and adjacent word pairs of ``text``."""
    words = _WORD.findall(fold(text))
    out: list[str] = []
    for i, word in enumerate(words):
        out.append("w:" + word)
        if len(word) > STEM:
            out.append("s:" + word[:STEM])
        if i:
            out.append(f"b:{words[i - 1]} {word}")
    return out


def gram_hashes(text: str) -> Hashes:
    """The distinct CRC-32 hashes of ``text``'s grams, sorted.

    A Python set, not ``np.unique``: the tagger's first ``np.unique`` costs the
    process 0.7 MB that stays, and the memory budget beside the embedder is tight.
    """
    return np.array(sorted({zlib.crc32(g.encode()) for g in grams(text)}), dtype=np.uint32)


@dataclass(frozen=True, slots=True, eq=False)
class SparseRows:
    """Messages as unit-length tf-idf rows over a vocabulary: compressed rows plus the column order for ``X.T @ G``."""

    indptr: npt.NDArray[np.int64]  # (messages + 1,)
    columns: npt.NDArray[np.int64]  # (stored values,)
    values: npt.NDArray[np.float64]  # (stored values,)
    width: int
    row_of: npt.NDArray[np.int64]  # (stored values,): each value's message
    by_column: npt.NDArray[np.int64]  # the values in column order
    column_starts: npt.NDArray[np.int64]  # where each used column begins in that order
    used_columns: npt.NDArray[np.int64]

    @classmethod
    def build(
        cls, columns: Sequence[npt.NDArray[np.int64]], values: Sequence[npt.NDArray[np.float64]], width: int
    ) -> SparseRows:
        lengths = np.array([len(c) for c in columns], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(columns).astype(np.int64) if columns else np.zeros(0, np.int64)
        order = np.argsort(flat, kind="stable")
        ordered = flat[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.zeros(0, np.int64)
        return cls(
            indptr=indptr,
            columns=flat,
            values=np.concatenate(values).astype(np.float64) if values else np.zeros(0, np.float64),
            width=width,
            row_of=np.repeat(np.arange(len(lengths), dtype=np.int64), lengths),
            by_column=order,
            column_starts=starts.astype(np.int64),
            used_columns=ordered[starts] if len(ordered) else np.zeros(0, np.int64),
        )

    @property
    def messages(self) -> int:
        return len(self.indptr) - 1

    def dot(self, weights: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """``weights @ X.T`` for ``weights`` of shape ``(k, width)``: ``(k, messages)``.

        Outputs first: gathering whole columns of a ``(k, width)`` array is several
        times faster in numpy than gathering rows of its transpose.
        """
        out = np.zeros((weights.shape[0], self.messages))
        filled = np.flatnonzero(np.diff(self.indptr))
        if len(filled):
            out[:, filled] = np.add.reduceat(self.values * weights[:, self.columns], self.indptr[filled], axis=1)
        return out

    def transposed_dot(self, gradient: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``gradient @ X`` for ``gradient`` of shape ``(k, messages)``: ``(k, width)``."""
        out = np.zeros((gradient.shape[0], self.width))
        if len(self.by_column):
            order = self.by_column
            products = self.values[order] * gradient[:, self.row_of[order]]
            out[:, self.used_columns] = np.add.reduceat(products, self.column_starts, axis=1)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class WordGrams:
    """Per-topic logistic regressions over tf-idf grams, and how much they weigh beside the embedding's."""

    keys: Hashes  # (vocabulary,), sorted
    idf: Matrix  # (vocabulary,)
    weights: npt.NDArray[np.float16]  # (outputs, vocabulary)
    bias: Matrix  # (outputs,)
    weight: float  # share of these probabilities in the blend with the embedding classifiers'

    @staticmethod
    def vocabulary(texts: Sequence[str]) -> tuple[Hashes, Matrix]:
        """The grams of at least :data:`MIN_MESSAGES` of ``texts`` (sorted hashes) and their smoothed idf."""
        if not texts:
            return np.zeros(0, np.uint32), np.zeros(0, np.float32)
        every = np.concatenate([gram_hashes(t) for t in texts])
        keys, seen_in = np.unique(every, return_counts=True)
        kept = seen_in >= MIN_MESSAGES
        idf = np.log((1.0 + len(texts)) / (1.0 + seen_in[kept])) + 1.0
        return keys[kept], idf.astype(np.float32)

    @staticmethod
    def rows(texts: Sequence[str], keys: Hashes, idf: Matrix) -> SparseRows:
        """``texts`` as unit-length tf-idf rows over the vocabulary ``keys`` (unknown grams are dropped)."""
        columns: list[npt.NDArray[np.int64]] = []
        values: list[npt.NDArray[np.float64]] = []
        for text in texts:
            found = _columns(gram_hashes(text), keys)
            weight = idf[found].astype(np.float64)
            norm = float(np.linalg.norm(weight))
            columns.append(found)
            values.append(weight / norm if norm else weight)
        return SparseRows.build(columns, values, len(keys))

    def probabilities(self, texts: Sequence[str]) -> Matrix:
        """Per-output probabilities ``(len(texts), outputs)``."""
        logits = self.rows(texts, self.keys, self.idf).dot(self.weights).T + self.bias
        out: Matrix = (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
        return out

    def blend(self, probabilities: Matrix, texts: Sequence[str]) -> Matrix:
        """``probabilities`` (the embedding classifiers') with these mixed in by :attr:`weight`."""
        out: Matrix = ((1.0 - self.weight) * probabilities + self.weight * self.probabilities(texts)).astype(np.float32)
        return out


def _columns(hashes: Hashes, keys: Hashes) -> npt.NDArray[np.int64]:
    if not len(keys):
        return np.zeros(0, np.int64)
    at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
    found: npt.NDArray[np.int64] = at[keys[at] == hashes].astype(np.int64)
    return found


def fit_sparse_logistic(
    rows: SparseRows, labels: npt.NDArray[np.float64], l2: float, iterations: int = 300
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """L2-regularised logistic regressions, one per label column, over sparse unit rows.

    The same accelerated full-batch descent as :func:`bot.topic_model.fit_logistic`
    (no randomness: same rows, same weights); the step is 1/L with L bounded
    through the largest eigenvalue of ``X.T X``, found by a fixed number of power
    iterations from a fixed start and padded by 5% (they approach it from below),
    plus the bias column's. Returns ``(weights (k, width), bias (k,))``.
    """
    y = labels.astype(np.float64).reshape(rows.messages, -1).T
    n = max(rows.messages, 1)
    probe = np.ones((1, rows.width)) / np.sqrt(max(rows.width, 1))
    largest = 0.0
    for _ in range(30):
        probe = rows.transposed_dot(rows.dot(probe))
        largest = float(np.linalg.norm(probe))
        if largest == 0.0:
            break
        probe /= largest
    step = 1.0 / (0.25 * (1.05 * largest + n) / n + l2)
    w = np.zeros((y.shape[0], rows.width))
    b = np.zeros((y.shape[0], 1))
    previous_w, previous_b = w, b
    for k in range(1, iterations + 1):
        momentum = (k - 1) / (k + 2)
        look_w = w + momentum * (w - previous_w)
        look_b = b + momentum * (b - previous_b)
        residual = 1.0 / (1.0 + np.exp(-np.clip(rows.dot(look_w) + look_b, -30, 30))) - y
        previous_w, previous_b = w, b
        w = look_w - step * (rows.transposed_dot(residual) / n + l2 * look_w)
        b = look_b - step * residual.mean(axis=1, keepdims=True)
    return w, b[:, 0]
