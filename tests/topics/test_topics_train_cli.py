"""``agora topics train``: learns from a corpus plus the database's corrections, prints before/after, repeatably."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from bot.cli import main
from bot.store import Store, TagCorrection, open_database
from bot.tagging import load_topic_model
from bot.topic_model import TopicModel
from bot.topic_training import shipped_corpus, split


def write_small_corpus(folder: Path) -> None:
    """45 train rows and 15 validation rows, all taken from the shipped train split."""
    rows = split(shipped_corpus(), "train")
    chosen = [r for lang in ("en", "es", "pt") for r in [r for r in rows if r.lang == lang][:20]]
    folder.mkdir()
    with (folder / "small.jsonl").open("w", encoding="utf-8") as handle:
        for i, row in enumerate(chosen):
            line = {"id": row.id, "lang": row.lang, "text": row.text, "topics": list(row.topics), "kind": row.kind}
            handle.write(json.dumps({**line, "split": "validation" if i % 4 == 3 else "train"}) + "\n")


def test_train_twice_gives_the_same_model_and_prints_before_and_after(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_small_corpus(corpus)
    config = tmp_path / "config.toml"
    config.write_text('[agora]\ndatabase = "agora.db"\n')
    store = Store(open_database(tmp_path / "agora.db"))
    store.add_tag_correction(
        TagCorrection(
            "wwc",
            7,
            "en",
            "We moved council votes to the evening so renters can come.",
            (),
            ("housing",),
            ("housing",),
            (),
            None,
        ),
        "u1",
    )
    store.db.close()
    outputs = []
    for name in ("a.npz", "b.npz"):
        result = CliRunner().invoke(
            main, ["topics", "train", "--config", str(config), "--corpus", str(corpus), "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.stdout))
    first, second = (TopicModel.load(tmp_path / name) for name in ("a.npz", "b.npz"))
    assert np.array_equal(first.weights, second.weights) and first.thresholds == second.thresholds
    assert first.info["trained_on"] == 45 + 1  # the train rows and the correction
    report = outputs[0]
    assert report["validation_after"]["messages"] == 15
    assert set(report) >= {"cross_validated_on_train", "validation_lexicon_only", "validation_before"}
    assert 0.0 <= report["validation_after"]["micro"]["f1"] <= 1.0
    assert outputs[0]["validation_after"] == outputs[1]["validation_after"]


def test_a_retrained_model_beside_the_database_is_used_by_agora_tag(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_small_corpus(corpus)
    config = tmp_path / "config.toml"
    config.write_text('[agora]\ndatabase = "agora.db"\n')
    trained = CliRunner().invoke(main, ["topics", "train", "--config", str(config), "--corpus", str(corpus)])
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "agora-topics.npz").exists()
    used = load_topic_model(tmp_path / "agora.db")
    assert used is not None and used.info["trained_on"] == 45
    assert used.info["fingerprint"] != TopicModel.load().info["fingerprint"]
    tagged = CliRunner().invoke(
        main, ["tag", "--json", "--config", str(config)], input="¡Muchas gracias a todos por la reunión de hoy!\n"
    )
    assert tagged.exit_code == 0, tagged.output
    assert json.loads(tagged.stdout) == {"lang": "es", "topics": []}


def test_tag_without_json_says_why(tmp_path: Path) -> None:
    lines = (
        "¿Cómo atienden a las personas en situación de calle?\n"
        "after the payroll scam we put two-step codes on every shared inbox\n"
    )
    result = CliRunner().invoke(main, ["tag"], input=lines, env={"AGORA_DB": str(tmp_path / "t.db")})
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first == "es\thomelessness\thomelessness: matched 'situación de calle'"
    assert second.startswith("en\tcybersecurity\tcybersecurity: classifier 0.")
