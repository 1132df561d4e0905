"""Golden tests: the shipped lexicon against the labelled development set and our held-out set.

The floors are the ones agreed for the lexicon tagger (DESIGN.md, notes/tagging.md):
micro-F1 >= 0.88 on dev, at most 10% of chatter tagged, every language >= 0.80.
The held-out floor is a regression guard well below its first measured value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bot.topics import LANGS, Tagger

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "tests" / "data" / "dev_topics.jsonl"  # a copy of shared/data/dev_topics.jsonl
HOLDOUT = REPO / "tests" / "data" / "topics_holdout.jsonl"


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _micro_f1(pairs: Iterable[tuple[set[str], set[str]]]) -> float:
    tp = fp = fn = 0
    for gold, predicted in pairs:
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _predict(tagger: Tagger, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], set[str], set[str]]]:
    out = []
    for row in rows:
        gold = set(row["topics"])
        result = tagger.tag(str(row["text"]), str(row["lang"]))
        assert len(result.topics) <= 3
        out.append((row, gold, set(result.topics)))
    return out


def _check(tagger: Tagger, path: Path, *, micro: float, per_language: float, chatter: float) -> None:
    predictions = _predict(tagger, _rows(path))
    overall = _micro_f1((gold, pred) for _, gold, pred in predictions)
    assert overall >= micro, f"micro-F1 {overall:.3f} < {micro}"
    for lang in LANGS:
        score = _micro_f1((gold, pred) for row, gold, pred in predictions if row["lang"] == lang)
        assert score >= per_language, f"{lang} F1 {score:.3f} < {per_language}"
    chatter_preds = [pred for row, _, pred in predictions if row["kind"] == "chatter"]
    assert chatter_preds, "the set has no chatter to check"
    rate = sum(1 for pred in chatter_preds if pred) / len(chatter_preds)
    assert rate <= chatter, f"chatter false-tag rate {rate:.2f} > {chatter}"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def test_dev_set_meets_the_agreed_floors(tagger: Tagger) -> None:
    _check(tagger, DEV, micro=0.88, per_language=0.80, chatter=0.10)


def test_holdout_set_does_not_regress(tagger: Tagger) -> None:
    _check(tagger, HOLDOUT, micro=0.80, per_language=0.75, chatter=0.10)


def test_holdout_set_is_well_formed() -> None:
    rows = _rows(HOLDOUT)
    slugs = {topic.slug for topic in Tagger.load().topics}
    assert len({row["id"] for row in rows}) == len(rows)
    for lang in LANGS:
        assert sum(1 for row in rows if row["lang"] == lang) == 20
    for row in rows:
        assert set(row) == {"id", "lang", "text", "topics", "kind"}
        assert set(row["topics"]) <= slugs
        assert row["kind"] in {"question", "answer", "chatter"}
        assert (row["kind"] == "chatter") == (row["topics"] == [])
