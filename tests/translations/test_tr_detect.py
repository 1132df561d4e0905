"""Language detection: accuracy on the development set and the channel-language floor."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from translations.config import DetectSettings
from translations.detect import LanguageDetector

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "dev_topics.jsonl"  # copy of shared/data/dev_topics.jsonl


def _dev_rows() -> list[dict[str, str]]:
    with DEV_SET.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _accuracy(detector: LanguageDetector, rows: list[dict[str, str]], prior_of: dict[str, str | None]) -> Counter[str]:
    hits: Counter[str] = Counter()
    for row in rows:
        hits[row["lang"] + "_total"] += 1
        if detector.detect(row["text"], prior_of[row["lang"]]) == row["lang"]:
            hits[row["lang"]] += 1
    return hits


@pytest.mark.parametrize(
    "priors",
    [
        {"en": None, "es": None, "pt": None},  # no channel language
        {"en": "en", "es": "es", "pt": "pt"},  # written in the channel's language
        {"en": "es", "es": "pt", "pt": "es"},  # written in another channel's language: the text must win
    ],
    ids=["no-prior", "matching-prior", "wrong-prior"],
)
def test_dev_set_accuracy_overall_and_per_language(priors: dict[str, str | None]) -> None:
    rows = _dev_rows()
    hits = _accuracy(LanguageDetector(), rows, priors)
    langs = sorted({r["lang"] for r in rows})
    assert langs == ["en", "es", "pt"]
    for lang in langs:
        assert hits[lang] / hits[lang + "_total"] >= 0.97, (lang, hits)
    assert sum(hits[lang] for lang in langs) / len(rows) >= 0.97


@pytest.mark.parametrize(
    ("text", "prior"),
    [("valeu!", "pt"), ("dale", "es"), ("sim, claro", "pt"), ("ok", "es"), ("thx", "en"), ("gracias", "pt")],
)
def test_short_messages_take_the_channel_language(text: str, prior: str) -> None:
    assert LanguageDetector().detect(text, prior) == prior


def test_long_confident_text_beats_the_channel_language() -> None:
    text = "Precisamos proteger os dados pessoais dos moradores quando publicamos conjuntos de dados abertos."
    assert LanguageDetector().detect(text, "en") == "pt"
    assert LanguageDetector().detect(text, "es") == "pt"


def test_urls_mentions_and_emoji_do_not_count_as_words() -> None:
    detector = LanguageDetector()
    noisy = "<@U123> https://example.org/housing-plan-report-2024 :thumbsup: @maria #general `kubectl get pods` sí"
    guess = detector.classify(noisy)
    assert guess.letters == 2  # only "sí" is language
    assert detector.detect(noisy, "es") == "es"
    assert detector.detect(noisy, "pt") == "pt"


def test_no_letters_falls_back_to_prior_or_english() -> None:
    detector = LanguageDetector()
    assert detector.detect("👍 https://x.y/z 123", "pt") == "pt"
    assert detector.detect("👍", None) == "en"
    assert detector.detect("👍", "fr") == "en"  # unknown priors are ignored


def test_floor_is_configurable() -> None:
    text = "gracias a todos por la ayuda"  # Spanish, 23 letters
    assert LanguageDetector(DetectSettings(min_letters=15)).detect(text, "pt") == "es"
    assert LanguageDetector(DetectSettings(min_letters=40)).detect(text, "pt") == "pt"
    assert LanguageDetector(DetectSettings(min_letters=0, min_confidence=1.0)).detect(text, "en") == "en"


def test_compacted_tables_score_exactly_like_py3langid() -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from translations.detect import _model

    stock = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    stock.set_languages(["en", "es", "pt"])
    compact = _model()
    assert isinstance(compact.tk_nextmove, memoryview)  # the faster layout was applied
    for row in _dev_rows():
        assert compact.classify(row["text"]) == stock.classify(row["text"])
