"""The shipped embedder: one space for en/es/pt, normalised rows, cached, loaded once."""

from __future__ import annotations

import numpy as np

from bot.ports import load_plugin
from translations.embedder import DIM, UseEmbedder


def test_plugin_is_registered() -> None:
    embedder = load_plugin("agora.embedders", "use")({})
    assert embedder.name == "use-multilingual-v3"
    assert embedder.dim == DIM


def test_same_question_in_three_languages_is_closer_than_an_unrelated_one() -> None:
    embedder = UseEmbedder()
    vectors = embedder.embed(
        [
            "How do you count people sleeping outside?",
            "¿Cómo cuentan a las personas que duermen en la calle?",
            "Como vocês contam as pessoas que dormem na rua?",
            "Which bus routes did you cut last year?",
            "",
        ]
    )
    assert vectors.shape == (5, DIM)
    assert np.allclose(np.linalg.norm(vectors[:4], axis=1), 1.0, atol=1e-3)
    sims = vectors @ vectors.T
    assert min(sims[0, 1], sims[0, 2], sims[1, 2]) > sims[0, 3] + 0.2


def test_repeated_texts_come_from_the_cache() -> None:
    embedder = UseEmbedder(cache_size=2)
    first = embedder.embed(["a shelter policy"])
    embedder._model = None  # a cached text must not need the model again
    again = embedder.embed(["a shelter policy"])
    assert np.array_equal(first, again)
