"""Thresholds follow the labelling of the calibrating rows (the validation split's writers), not every writer's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bot.topic_training import CALIBRATION_LIST, Labelled, calibrate, read_corpus, shipped_corpus, split
from bot.topics import TagResult

SLUGS = ["housing", "budget"]


def row(i: int, topics: tuple[str, ...], calibrates: bool) -> Labelled:
    return Labelled(f"r{i}", "en", f"text {i}", topics, "answer" if topics else "chatter", calibrates=calibrates)


def test_the_corpus_files_named_in_the_list_calibrate(tmp_path: Path) -> None:
    for name, text in (("a.jsonl", "first"), ("b.jsonl", "second")):
        line = {"id": name, "lang": "en", "text": text, "topics": ["housing"], "kind": "question", "split": "train"}
        (tmp_path / name).write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert [r.calibrates for r in read_corpus(tmp_path)] == [False, False]
    (tmp_path / CALIBRATION_LIST).write_text("b.jsonl\n", encoding="utf-8")
    assert [(r.text, r.calibrates) for r in read_corpus(tmp_path)] == [("first", False), ("second", True)]


def test_the_shipped_calibration_rows_are_the_first_corpus_train_rows_only() -> None:
    rows = shipped_corpus()
    calibrating = [r for r in rows if r.calibrates]
    assert calibrating and {r.id[:3] for r in calibrating} == {"en-", "es-", "pt-"}
    assert not any(r.id.startswith(("en-t", "es-t", "pt-t")) for r in calibrating)  # the later train files do not
    assert len([r for r in split(rows, "train") if r.calibrates]) < len(calibrating)  # validation rows are never fitted


def test_thresholds_follow_the_calibrating_rows_labelling() -> None:
    # Every message is clearly housing (p 0.9) and maybe budget (p 0.45). The calibrating writers never
    # gave the second topic; the others always did. Fitted to the calibrating rows, budget stays off.
    n = 40
    rows = [row(i, ("housing",), True) for i in range(n)] + [row(n + i, ("housing", "budget"), False) for i in range(n)]
    oof = np.tile(np.array([0.9, 0.45, 0.95]), (2 * n, 1))  # housing, budget, the topical gate
    lexicon = [TagResult((), {}, {}) for _ in rows]
    fitted, figures = calibrate(oof, lexicon, rows, SLUGS)
    assert fitted.topic > 0.45 and figures["calibrated_on"] == n and figures["messages"] == 2 * n
    everyone = [Labelled(r.id, r.lang, r.text, r.topics, r.kind) for r in rows]
    unfitted, figures = calibrate(oof, lexicon, everyone, SLUGS)
    assert figures["calibrated_on"] == 2 * n
    assert unfitted.topic <= 0.45  # without calibrating rows every writer counts, and the second topic is worth it
