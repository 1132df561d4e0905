"""Topic tagger quality and speed, printed as JSON (behind ``agora bench``).

Quality is reported the way ``notes/tagging.md`` asks: micro- and macro-F1,
per-language and per-topic F1, exact-set accuracy, and the chatter false-tag
rate, because accuracy alone hides the two failure modes that matter (missed
multi-label topics and tags on greetings). Speed is the per-message latency of
``Tagger.tag`` over the development set, p50 and p99, after one warm-up pass so
the stem caches are in the state a running bot would have.

Run: ``python benchmarks/tagging.py [--errors]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.topics import LANGS, Tagger, default_tagger

REPO = Path(__file__).resolve().parents[1]
DEV_PATH = REPO / ".." / "shared" / "data" / "dev_topics.jsonl"
HOLDOUT_PATH = REPO / "tests" / "data" / "topics_holdout.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message from a ``*.jsonl`` tagging set."""

    id: str
    lang: str
    text: str
    topics: frozenset[str]
    kind: str


def load_examples(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            examples.append(
                Example(
                    id=str(row["id"]),
                    lang=str(row["lang"]),
                    text=str(row["text"]),
                    topics=frozenset(row["topics"]),
                    kind=str(row.get("kind", "")),
                )
            )
    return examples


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _micro(pairs: Iterable[tuple[frozenset[str], frozenset[str]]]) -> dict[str, float]:
    tp = fp = fn = 0
    for gold, predicted in pairs:
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    return _prf(tp, fp, fn)


def metrics(examples: Sequence[Example], predictions: Sequence[frozenset[str]], slugs: Sequence[str]) -> dict[str, Any]:
    """All figures for one labelled set; ``predictions`` is parallel to ``examples``."""
    pairs = [(example.topics, predicted) for example, predicted in zip(examples, predictions, strict=True)]
    per_topic: dict[str, dict[str, float]] = {}
    for slug in slugs:
        tp = sum(1 for gold, pred in pairs if slug in gold and slug in pred)
        fp = sum(1 for gold, pred in pairs if slug not in gold and slug in pred)
        fn = sum(1 for gold, pred in pairs if slug in gold and slug not in pred)
        per_topic[slug] = {**_prf(tp, fp, fn), "support": tp + fn}
    scored = [slug for slug in slugs if per_topic[slug]["support"] or any(slug in pred for _, pred in pairs)]
    chatter = [pred for example, pred in zip(examples, predictions, strict=True) if example.kind == "chatter"]
    empty = [pred for gold, pred in pairs if not gold]
    return {
        "messages": len(examples),
        "micro": _micro(pairs),
        "macro_f1": round(statistics.fmean(per_topic[s]["f1"] for s in scored), 4) if scored else 0.0,
        "exact_set": round(sum(gold == pred for gold, pred in pairs) / len(pairs), 4) if pairs else 0.0,
        "per_language": {
            lang: _micro(pair for example, pair in zip(examples, pairs, strict=True) if example.lang == lang)["f1"]
            for lang in LANGS
        },
        "chatter_messages": len(chatter),
        "chatter_false_tag_rate": round(sum(1 for p in chatter if p) / len(chatter), 4) if chatter else 0.0,
        "untagged_false_tag_rate": round(sum(1 for p in empty if p) / len(empty), 4) if empty else 0.0,
        "per_topic": per_topic,
    }


def evaluate(path: Path | str = DEV_PATH, *, tagger: Tagger | None = None, errors: bool = False) -> dict[str, Any]:
    """Tag every message in ``path`` and compare with its labels.

    With ``errors`` the result lists each mislabelled message with its evidence,
    which is what you read when extending a lexicon.
    """
    tagger = tagger or default_tagger()
    examples = load_examples(Path(path))
    results = [tagger.tag(example.text, example.lang) for example in examples]
    predictions = [frozenset(result.topics) for result in results]
    report = {"path": str(Path(path).resolve()), **metrics(examples, predictions, [t.slug for t in tagger.topics])}
    if errors:
        report["errors"] = [
            {
                "id": example.id,
                "text": example.text,
                "gold": sorted(example.topics),
                "predicted": list(result.topics),
                "scores": dict(result.scores),
                "evidence": {slug: list(found) for slug, found in result.evidence.items()},
            }
            for example, result in zip(examples, results, strict=True)
            if frozenset(result.topics) != example.topics
        ]
    return report


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def bench(n_repeats: int = 20, path: Path | str = DEV_PATH) -> dict[str, Any]:
    """Per-message tagging latency in microseconds over the messages in ``path``."""
    started = time.perf_counter()
    tagger = Tagger.load()
    load_ms = (time.perf_counter() - started) * 1000
    examples = load_examples(Path(path))
    for example in examples:  # warm-up: fill the stem caches as a running bot would have them
        tagger.tag(example.text, example.lang)
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(n_repeats):
        for example in examples:
            begin = clock()
            tagger.tag(example.text, example.lang)
            samples.append((clock() - begin) / 1000)
    samples.sort()
    cold = Tagger.load()
    cold_samples = []
    for example in examples:
        begin = clock()
        cold.tag(example.text, example.lang)
        cold_samples.append((clock() - begin) / 1000)
    return {
        "messages": len(examples),
        "repeats": n_repeats,
        "load_ms": round(load_ms, 2),
        "p50_us": round(_percentile(samples, 0.50), 1),
        "p99_us": round(_percentile(samples, 0.99), 1),
        "mean_us": round(statistics.fmean(samples), 1),
        "cold_mean_us": round(statistics.fmean(cold_samples), 1),
    }


def run() -> dict[str, Any]:
    """``agora bench tagging``: quality on the labelled sets present, and latency."""
    out: dict[str, Any] = {}
    for name, path in (("dev", DEV_PATH), ("holdout", HOLDOUT_PATH)):
        if path.exists():
            figures = evaluate(path)
            out[name] = {
                k: figures[k] for k in ("micro", "macro_f1", "per_language", "chatter_false_tag_rate") if k in figures
            }
    latency_set = DEV_PATH if DEV_PATH.exists() else HOLDOUT_PATH
    out["latency"] = bench(20, latency_set) if latency_set.exists() else {}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--errors", action="store_true", help="list the mislabelled messages")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    report: dict[str, Mapping[str, Any]] = {}
    for name, path in (("dev", DEV_PATH), ("holdout", HOLDOUT_PATH)):
        if path.exists():
            report[name] = evaluate(path, errors=args.errors)
    if DEV_PATH.exists():
        report["latency"] = bench(args.repeats)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
