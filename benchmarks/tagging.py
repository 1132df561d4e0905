"""Topic tagger quality and speed, printed as JSON (behind ``agora bench tagging``).

Quality is reported the way ``notes/tagging.md`` asks: micro- and macro-F1,
per-language and per-topic precision/recall, and the chatter false-tag rate,
because accuracy alone hides the two failure modes that matter (missed
multi-label topics and tags on greetings). The headline is the shipped corpus's
validation split, which no rule, threshold or model choice ever looked at; the
cross-validated figures on the train split are the ones the thresholds were
chosen by. ``validation_in_threads`` scores the same messages the way the relay
tags them: an answer is tagged with its question's topics as thread context
(the question tagged by the same tagger, never its labels), everything else
alone. Speed is the per-message latency of the full tagger (lexicon, a fresh
embedding, the classifiers), p50 and p99; the model's load time and resident
memory growth are measured in a fresh process, and so is how soon ``agora run``
answers on the playground.

Run: ``agora bench tagging --json`` (or ``python benchmarks/tagging.py [--errors]`` for the lexicon alone).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.topic_training import Labelled, figures, read_jsonl
from bot.topics import Tagger, default_tagger

REPO = Path(__file__).resolve().parents[1]
DEV_PATH = REPO / "tests" / "data" / "dev_topics.jsonl"  # a copy of shared/data/dev_topics.jsonl
HOLDOUT_PATH = REPO / "tests" / "data" / "topics_holdout.jsonl"


def metrics(
    examples: Sequence[Labelled], predictions: Sequence[frozenset[str]], slugs: Sequence[str]
) -> dict[str, Any]:
    """All figures for one labelled set (``predictions`` is parallel to ``examples``): the trainer's
    figures, with macro-F1 also over topics only ever guessed wrongly, exact-set accuracy and the
    number of chatter messages."""
    report = figures(examples, [sorted(p) for p in predictions], slugs)
    per_topic = report["per_topic"]
    pairs = [(frozenset(example.topics), predicted) for example, predicted in zip(examples, predictions, strict=True)]
    scored = [slug for slug in slugs if per_topic[slug]["support"] or any(slug in pred for _, pred in pairs)]
    chatter = [example for example in examples if example.kind == "chatter"]
    return {
        **report,
        "macro_f1": round(statistics.fmean(per_topic[s]["f1"] for s in scored), 4) if scored else 0.0,
        "exact_set": round(sum(gold == pred for gold, pred in pairs) / len(pairs), 4) if pairs else 0.0,
        "chatter_messages": len(chatter),
    }


def evaluate(path: Path | str = DEV_PATH, *, tagger: Tagger | None = None, errors: bool = False) -> dict[str, Any]:
    """Tag every message in ``path`` and compare with its labels.

    With ``errors`` the result lists each mislabelled message with its evidence,
    which is what you read when extending a lexicon.
    """
    tagger = tagger or default_tagger()
    examples = read_jsonl(Path(path))
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
            if set(result.topics) != set(example.topics)
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
    examples = read_jsonl(Path(path))
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
    """``agora bench tagging``: validation-split quality, cross-validated figures, latency, load, memory."""
    from bot.ports import load_plugin
    from bot.tagging import TopicTagger
    from bot.topic_model import TopicModel
    from bot.topic_training import featurise, figures, predict, questions_of, shipped_corpus, split

    lexicon = default_tagger()
    slugs = [t.slug for t in lexicon.topics]
    model = TopicModel.load()
    embedder = load_plugin("agora.embedders", "use")({"cache_size": 0})
    corpus = shipped_corpus()
    validation = split(corpus, "validation")
    features = featurise(validation, embedder, lexicon)
    combined = figures(validation, predict(model, features), slugs)
    lexicon_only = figures(validation, [r.topics for r in features.lexicon], slugs)
    cv = dict(model.info.get("cross_validated", {}))
    tagger = TopicTagger(lexicon, embedder, model)
    questions = questions_of(corpus)
    in_threads = [_in_thread(tagger, row, questions.get(row.id)) for row in validation]
    return {
        "validation": _summary(combined, per_topic=True),
        "validation_in_threads": {
            **_summary(figures(validation, in_threads, slugs), per_topic=True),
            "answers_with_their_question": sum(1 for row in validation if row.id in questions),
        },
        "validation_lexicon_only": _summary(lexicon_only),
        "cross_validated_on_train": {
            **_summary(cv),
            "folds": model.info.get("folds"),
            "rows": model.info.get("trained_on"),
        },
        "thresholds": model.thresholds.as_dict(),
        "latency": _latency(tagger, [(r.text, r.lang) for r in validation]),
        "model": _load_in_fresh_process(),
        "agora_run_serves_s": _serve_time(),
    }


def _in_thread(tagger: Any, row: Any, question: Any) -> tuple[str, ...]:
    """The relay's topics for ``row``: an answer gets its question's (tagged) topics as thread context."""
    thread = tagger.tag(question.text, question.lang).topics if question is not None else ()
    topics: tuple[str, ...] = tagger.tag(row.text, row.lang, thread=thread).topics
    return topics


def _summary(figures: Mapping[str, Any], *, per_topic: bool = False) -> dict[str, Any]:
    keep = ["messages", "micro", "macro_f1", "per_language", "per_language_macro_f1"]
    keep += ["chatter_false_tag_rate", "untagged_false_tag_rate"]
    out = {k: figures[k] for k in keep if k in figures}
    if per_topic and "per_topic" in figures:
        out["per_topic"] = figures["per_topic"]
    return out


def _latency(tagger: Any, messages: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Milliseconds per message for the whole tagger, every embedding computed afresh (no cache)."""
    for text, lang in messages[:20]:
        tagger.tag(text, lang)
    samples: list[float] = []
    clock = time.perf_counter_ns
    for text, lang in messages:
        begin = clock()
        tagger.tag(text, lang)
        samples.append((clock() - begin) / 1e6)
    samples.sort()
    return {
        "messages": len(samples),
        "p50_ms": round(_percentile(samples, 0.50), 2),
        "p99_ms": round(_percentile(samples, 0.99), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
    }


_LOAD_PROBE = """
import json, resource, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
import numpy
from bot.ports import load_plugin
from bot.topic_model import TopicModel
before = rss()
start = time.perf_counter()
embedder = load_plugin("agora.embedders", "use")({})
model = TopicModel.load()
probe = ["Cuantas camas de albergue agregaron este invierno?"]
model.probabilities(embedder.embed(probe), probe)
seconds = time.perf_counter() - start
after = rss()
for i in range(2000):
    embedder.embed([f"message {i}: how do you fund shelters, buses and broadband in district {i}?"])
print(json.dumps({"load_s": round(seconds, 2), "rss_growth_mb": round(after - before, 1),
                  "rss_growth_after_2000_messages_mb": round(rss() - before, 1),
                  "peak_rss_growth_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before, 1)}))
"""


def _load_in_fresh_process() -> dict[str, Any]:
    """Load time of the embedder + classifiers and the resident memory they add, in a new interpreter."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _LOAD_PROBE], capture_output=True, text=True, check=True, timeout=120)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _serve_time() -> float | None:
    """Seconds from starting ``agora run`` (shipped demo network, port 0) to the playground's first answer."""
    import re
    import subprocess
    import tempfile
    import urllib.request

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        demo = (REPO / "config.toml").read_text(encoding="utf-8")
        config.write_text(re.sub(r"(?m)^port = \d+", "port = 0", demo), encoding="utf-8")
        env = {**os.environ, "AGORA_DB": str(Path(tmp) / "bench.db")}
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
                if found:
                    with urllib.request.urlopen(found.group(1) + "api/channels", timeout=10) as response:
                        response.read()
                    return round(time.perf_counter() - start, 2)
            return None
        finally:
            proc.terminate()
            proc.wait(timeout=20)


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
