"""The neighbour vote beside the topic classifiers, and the conversation-keeping folds that choose it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.topic_model import Neighbours, Thresholds, TopicModel
from bot.topic_training import Labelled, conversation_folds


def clusters() -> tuple[np.ndarray, np.ndarray]:
    """Three tight clusters of unit vectors in 16 dimensions; labels: topic per cluster, then 'topical'."""
    rng = np.random.default_rng(7)
    centres = np.eye(16)[:3]
    vectors = np.vstack([c + 0.05 * rng.standard_normal((10, 16)) for c in centres])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.zeros((30, 3))
    labels[:10] = [1, 0, 1]  # topic 0
    labels[10:20] = [0, 1, 1]  # topic 1
    return vectors.astype(np.float32), labels  # the last cluster: untagged


def test_a_message_gets_the_vote_of_its_nearest_training_messages() -> None:
    vectors, labels = clusters()
    neighbours = Neighbours.build(vectors, labels, dims=4, k=5, temperature=0.05, weight=0.5)
    queries = np.eye(16, dtype=np.float32)[[0, 1, 2]]
    vote = neighbours.vote(queries)
    assert np.allclose(vote, [[1, 0, 1], [0, 1, 1], [0, 0, 0]], atol=1e-6)
    rows = neighbours.vectors / neighbours.scale
    assert neighbours.vectors.shape == (30, 4) and np.allclose(np.linalg.norm(rows, axis=1), 1, atol=0.02)


def test_building_twice_from_the_same_rows_gives_the_same_vote() -> None:
    vectors, labels = clusters()
    first, second = (Neighbours.build(vectors, labels, dims=4, k=5, temperature=0.05, weight=0.3) for _ in range(2))
    assert np.array_equal(first.vectors, second.vectors) and np.array_equal(first.projection, second.projection)
    assert first.scale == second.scale and np.array_equal(first.labels, second.labels)


def test_the_vote_enters_the_probabilities_with_its_weight() -> None:
    vectors, labels = clusters()
    neighbours = Neighbours.build(vectors, labels, dims=4, k=5, temperature=0.05, weight=0.25)
    query = np.eye(16, dtype=np.float32)[[1]]
    probabilities = np.array([[0.8, 0.2, 0.4]], dtype=np.float32)
    assert np.allclose(neighbours.blend(probabilities, query), [[0.6, 0.4, 0.55]])
    assert np.allclose(replace(neighbours, weight=0.0).blend(probabilities, query), probabilities)


def test_more_neighbours_than_training_messages_use_them_all() -> None:
    vectors, labels = clusters()
    neighbours = Neighbours.build(vectors[:4], labels[:4], dims=8, k=50, temperature=0.05, weight=1.0)
    assert np.allclose(neighbours.vote(vectors[:1]), [[1, 0, 1]])


def test_a_model_with_neighbours_loads_as_saved(tmp_path: Path) -> None:
    vectors, labels = clusters()
    neighbours = Neighbours.build(vectors, labels, dims=4, k=5, temperature=0.05, weight=0.3)
    weights = np.zeros((2, 16), dtype=np.float32)
    model = TopicModel("e", ("a", "b"), weights, np.zeros(2, np.float32), np.zeros(16, np.float32), 0.0, Thresholds())
    with_vote = replace(model, neighbours=neighbours)
    with_vote.save(tmp_path / "m.npz")
    loaded = TopicModel.load(tmp_path / "m.npz")
    assert loaded.neighbours is not None and loaded.neighbours.k == 5 and loaded.neighbours.weight == 0.3
    query = np.eye(16, dtype=np.float32)[[0, 2]]
    texts = ["one", "two"]
    for got, want in zip(loaded.probabilities(query, texts), with_vote.probabilities(query, texts), strict=True):
        assert np.allclose(got, want)
    topics, gate = with_vote.probabilities(query, texts)
    assert np.allclose(topics, [[0.65, 0.35], [0.35, 0.35]]) and np.allclose(gate, [0.65, 0.35])
    model.save(tmp_path / "plain.npz")
    assert TopicModel.load(tmp_path / "plain.npz").neighbours is None


def test_folds_keep_a_question_with_the_rows_after_it() -> None:
    def row(i: int, kind: str, lang: str = "en") -> Labelled:
        return Labelled(str(i), lang, "text", (), kind)

    kinds = ["question", "answer", "chatter", "answer", "question", "answer", "negative", "question", "correction"]
    rows = [row(i, kind) for i, kind in enumerate(kinds)] + [row(9, "answer", "es"), row(10, "answer", "es")]
    folds = conversation_folds(rows, 5)
    assert folds[0] == folds[1] == folds[2] == folds[3] and folds[4] == folds[5] == folds[6]
    assert folds[9] == folds[10]
    assert list(folds[[0, 4, 7, 8, 9]]) == [0, 1, 2, 3, 4]  # questions, a correction, a new language: new ones
