"""The word-gram classifiers: grams, tf-idf rows, the sparse products, the fit, and the model file."""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.errors import ConfigError
from bot.topic_model import Thresholds, TopicModel
from bot.topic_training import choose_gram_weight, fit_grams
from bot.word_grams import SparseRows, WordGrams, fit_sparse_logistic, gram_hashes, grams


def test_grams_fold_case_and_accents_and_keep_stems_and_pairs() -> None:
    found = grams("Situación de CALLE: desalojos")
    assert {"w:situacion", "w:de", "w:calle", "w:desalojos"} <= set(found)
    assert {"s:situa", "s:desal", "b:situacion de", "b:de calle", "b:calle desalojos"} <= set(found)
    assert "s:calle" not in found  # five letters or fewer: the word is its own stem
    assert np.array_equal(gram_hashes("Situacion de calle"), gram_hashes("situación  DE calle!"))
    assert len(gram_hashes("")) == 0


def test_the_vocabulary_keeps_grams_of_three_messages_and_rows_are_unit_length() -> None:
    texts = ["tenant eviction notice", "eviction moratorium for tenants", "bus lanes", "an eviction", "tenants"]
    keys, idf = WordGrams.vocabulary(texts)
    in_three = {"w:eviction", "s:evict", "s:tenan"}  # "tenant" and "tenants" share their stem
    assert set(keys.tolist()) == {zlib.crc32(g.encode()) for g in in_three}
    rows = WordGrams.rows(["an eviction", "nothing known", "eviction eviction"], keys, idf)
    assert rows.indptr.tolist() == [0, 2, 2, 4]  # the word and its stem; a repeated word counts once
    assert np.allclose(np.linalg.norm(dense(rows), axis=1), [1, 0, 1])


def dense(rows: SparseRows) -> np.ndarray:
    out = np.zeros((rows.messages, rows.width))
    for r in range(rows.messages):
        for at in range(rows.indptr[r], rows.indptr[r + 1]):
            out[r, rows.columns[at]] = rows.values[at]
    return out


def test_the_sparse_products_match_the_dense_ones() -> None:
    rng = np.random.default_rng(3)
    columns = [np.sort(rng.choice(40, size=n, replace=False)) for n in (3, 0, 7, 1, 12)]
    values = [rng.normal(size=len(c)) for c in columns]
    rows = SparseRows.build(columns, values, 40)
    matrix = dense(rows)
    weights = rng.normal(size=(4, 40))
    gradient = rng.normal(size=(4, 5))
    assert np.allclose(rows.dot(weights), weights @ matrix.T)
    assert np.allclose(rows.transposed_dot(gradient), gradient @ matrix)


def test_the_sparse_fit_learns_word_topics_the_same_way_twice() -> None:
    texts = [f"{word} report {i}" for i in range(30) for word in ("shelter", "budget", "weather")]
    labels = np.array([[t.startswith("shelter"), t.startswith("budget")] for t in texts], dtype=np.float64)
    keys, idf = WordGrams.vocabulary(texts)
    rows = WordGrams.rows(texts, keys, idf)
    first = fit_sparse_logistic(rows, labels, 1e-4, iterations=200)
    second = fit_sparse_logistic(rows, labels, 1e-4, iterations=200)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    model = WordGrams(keys, idf, first[0].astype(np.float16), first[1].astype(np.float32), 1.0)
    p = model.probabilities(["shelter report 99", "budget report 99", "weather report 99", "unknown words"])
    assert p[0, 0] > 0.8 > p[0, 1] and p[1, 1] > 0.8 > p[1, 0]
    assert p[2].max() < 0.2 and p[3].max() < 0.5


def test_the_blend_weight_is_chosen_only_when_the_grams_help() -> None:
    texts = [f"{word} item {i}" for i in range(40) for word in ("shelter", "budget")]
    targets = np.array([[t.startswith("shelter")] for t in texts], dtype=np.float64)
    folds = np.arange(len(texts)) % 5
    uninformed = np.full_like(targets, 0.5)
    weight, blended = choose_gram_weight(texts, targets, uninformed, folds, 5)
    assert weight > 0 and np.abs(blended - targets).mean() < 0.3
    # words that say nothing about the label, and classifiers that already know it: the grams stay out
    texts = [f"note number {i % 7}" for i in range(80)]
    targets = (np.arange(80)[:, None] % 2).astype(np.float64)
    informed = np.where(targets > 0, 0.9, 0.1)
    weight, blended = choose_gram_weight(texts, targets, informed, folds, 5)
    assert weight == 0.0 and blended is informed


def model_with_grams() -> TopicModel:
    texts = [f"{word} {i}" for i in range(10) for word in ("shelter", "budget")]
    targets = np.array([[t.startswith("shelter"), t.startswith("budget"), 1.0] for t in texts])
    grams_model = fit_grams(texts, targets, 0.5)
    zero = np.zeros((2, 8), dtype=np.float32)
    return TopicModel(
        "e", ("a", "b"), zero, np.zeros(2, np.float32), np.zeros(8, np.float32), 0.0, Thresholds(), grams=grams_model
    )


def test_a_model_with_word_grams_loads_as_saved_and_blends_them(tmp_path: Path) -> None:
    model = model_with_grams()
    model.save(tmp_path / "m.npz")
    loaded = TopicModel.load(tmp_path / "m.npz")
    assert loaded.grams is not None and loaded.grams.weight == 0.5
    vectors = np.zeros((2, 8), dtype=np.float32)
    texts = ["shelter 3", "budget 3"]
    for got, want in zip(loaded.probabilities(vectors, texts), model.probabilities(vectors, texts), strict=True):
        assert np.array_equal(got, want)
    topics, _ = loaded.probabilities(vectors, texts)
    # the embedding half says 0.5 for everything (zero weights); the grams pull each message towards its topic
    assert topics[0, 0] > 0.6 > topics[0, 1] and topics[1, 1] > 0.6 > topics[1, 0]
    plain = replace(model, grams=None)
    plain.save(tmp_path / "plain.npz")
    assert TopicModel.load(tmp_path / "plain.npz").grams is None


def test_a_model_file_whose_word_grams_do_not_fit_its_topics_is_refused(tmp_path: Path) -> None:
    model = model_with_grams()
    assert model.grams is not None
    broken = replace(model, grams=replace(model.grams, bias=np.zeros(5, np.float32)))
    broken.save(tmp_path / "m.npz")
    with pytest.raises(ConfigError, match="word-gram shapes"):
        TopicModel.load(tmp_path / "m.npz")
