"""How well suggestions find the same question asked again, and stay silent otherwise.

An evaluation set is JSON Lines of three kinds (``tests/data/similar_tuning.jsonl``):
``pair`` (an ``earlier`` question and a ``later`` one asking the same thing in other
words and another language), ``distractor`` (an earlier question on a nearby subject
that answers none of the later ones) and ``unrelated`` (a later question nothing
earlier answers). Every earlier question is stored in one network through the real
store and vector table; then each later question is ranked by the real engine
(:class:`bot.similar.SimilarQuestions`) against that history.

- recall: pairs whose earlier question is among the (at most three) suggestions;
- precision: suggestions shown that are the right earlier question, over all
  suggestions shown for every later question (pairs and unrelated alike).

The threshold is chosen to maximise F1 (precision and recall weigh the same).
``cross_validate`` picks it on four fifths of the later questions and counts on the
fifth it did not see, five times over, so the figures are for questions the
threshold was not tuned on.

``agora bench similar_eval --json`` also scores the independent held-out set
(``tests/data/similar_heldout.jsonl``) at the same threshold. Run:
``agora bench similar_eval --json`` or ``python -m benchmarks.similar_eval [FILE]``;
``python -m benchmarks.similar_eval --prior FILE…`` recomputes the shipped prior means.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.events import ChannelRef
from bot.model import Channel
from bot.ports import Embedder, load_plugin
from bot.similar import SimilarQuestions, Tuning
from bot.store import Store, open_database
from testing.messages import add_message

ROOT = Path(__file__).resolve().parent.parent
TUNING_SET = ROOT / "tests" / "data" / "similar_tuning.jsonl"
HELD_OUT = ROOT / "tests" / "data" / "similar_heldout.jsonl"  # written by someone else; never tuned on
FOLDS = 5


@dataclass(frozen=True, slots=True)
class Query:
    """A later question, the earlier one it repeats (None if unrelated) and every candidate's score."""

    key: str
    expected: int | None
    scores: tuple[tuple[int, float], ...]  # best first


@dataclass(frozen=True, slots=True)
class Counts:
    pairs: int
    found: int
    shown: int
    right: int

    @property
    def recall(self) -> float:
        return self.found / self.pairs if self.pairs else 0.0

    @property
    def precision(self) -> float:
        return self.right / self.shown if self.shown else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "pairs": self.pairs,
            "found": self.found,
            "suggestions": self.shown,
            "right": self.right,
        }


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score_queries(rows: Sequence[dict[str, Any]], embedder: Embedder, tuning: Tuning | None = None) -> list[Query]:
    """Store the earlier questions, then score every later one against them (threshold off)."""
    store = Store(open_database(":memory:"))
    store.create_network("eval")
    channels = {}
    for lang in ("en", "es", "pt"):
        channel = Channel(ChannelRef("eval", "s", lang), "eval", f"City-{lang}", lang)
        store.link_channel(channel, "config")
        channels[lang] = channel
    engine = SimilarQuestions(store, embedder, _no_catalog(), replace(tuning or Tuning(), threshold=-2.0))
    earlier = [r for r in rows if "earlier" in r]
    vectors = embedder.embed([r["earlier"]["text"] for r in earlier])
    ids: dict[str, int] = {}
    for row, vector in zip(earlier, vectors, strict=True):
        lang = row["earlier"]["lang"]
        ref = channels[lang].ref
        text = row["earlier"]["text"]
        message_id = add_message(store, "eval", ref, text, lang, city=channels[lang].city, country="", author="eval")
        engine.store_vector(message_id, "eval", lang, np.asarray(vector, dtype=np.float32))
        ids[row["id"]] = message_id
    later = [r for r in rows if "later" in r]
    queries = []
    for row in later:
        _, matches = engine.find("eval", row["later"]["text"], row["later"]["lang"])
        expected = ids.get(row["id"]) if row.get("kind") == "pair" else None
        queries.append(Query(row["id"], expected, tuple((m.message_id, m.score) for m in matches)))
    return queries


def count(queries: Sequence[Query], threshold: float, shown: int = 3) -> Counts:
    pairs = found = total = right = 0
    for q in queries:
        top = [mid for mid, score in q.scores[:shown] if score >= threshold]
        pairs += q.expected is not None
        found += q.expected in top
        total += len(top)
        right += sum(1 for mid in top if mid == q.expected)
    return Counts(pairs, found, total, right)


def best_threshold(queries: Sequence[Query]) -> float:
    """The threshold with the best F1 (ties: the higher, more cautious one)."""
    candidates = sorted({round(s, 3) for q in queries for _, s in q.scores[:3]})
    best, chosen = -1.0, 1.0
    for t in candidates:
        f1 = count(queries, t).f1
        if f1 >= best:
            best, chosen = f1, t
    return chosen


def cross_validate(queries: Sequence[Query], folds: int = FOLDS) -> tuple[Counts, list[float]]:
    """Choose the threshold on the other folds, count on this one; totals over all folds."""
    total = Counts(0, 0, 0, 0)
    chosen = []
    for k in range(folds):
        train = [q for i, q in enumerate(queries) if i % folds != k]
        test = [q for i, q in enumerate(queries) if i % folds == k]
        threshold = best_threshold(train)
        chosen.append(threshold)
        c = count(test, threshold)
        total = Counts(total.pairs + c.pairs, total.found + c.found, total.shown + c.shown, total.right + c.right)
    return total, chosen


def run(path: Path = TUNING_SET) -> dict[str, Any]:
    embedder: Embedder = load_plugin("agora.embedders", "use")({})
    rows = load(path)
    queries = score_queries(rows, embedder)
    threshold = Tuning().threshold
    cv, chosen = cross_validate(queries)
    figures: dict[str, Any] = {
        "set": path.name,
        "pairs": sum(1 for r in rows if r.get("kind") == "pair"),
        "unrelated": sum(1 for r in rows if r.get("kind") == "unrelated"),
        "distractors": sum(1 for r in rows if r.get("kind") == "distractor"),
        "threshold": threshold,
        "at_threshold": count(queries, threshold).as_dict(),
        "best_threshold_here": best_threshold(queries),
        "cross_validated": cv.as_dict(),
        "cv_thresholds": chosen,
    }
    if path == TUNING_SET and HELD_OUT.exists():
        held = load(HELD_OUT)
        figures["held_out"] = {
            "set": HELD_OUT.name,
            "pairs": sum(1 for r in held if r.get("kind") == "pair"),
            "unrelated": sum(1 for r in held if r.get("kind") == "unrelated"),
            "distractors": sum(1 for r in held if r.get("kind") == "distractor"),
            "at_threshold": count(score_queries(held, embedder), threshold).as_dict(),
        }
    return figures


def write_prior(sources: Sequence[Path], target: Path = ROOT / "bot" / "data" / "similar" / "prior.json") -> None:
    """Recompute the shipped per-language mean vectors from JSON Lines of ``{"lang", "text"}`` messages.

    The shipped prior is the mean of the 180 forum messages in ``shared/data/dev_topics.jsonl``
    and ``tests/data/topics_holdout.jsonl`` (neither is a similar-question set).
    """
    embedder: Embedder = load_plugin("agora.embedders", "use")({})
    rows = [row for path in sources for row in load(path)]
    vectors = embedder.embed([r["text"] for r in rows])
    means = {}
    for lang in ("en", "es", "pt"):
        mine = [i for i, r in enumerate(rows) if r["lang"] == lang]
        means[lang] = [round(float(x), 5) for x in vectors[mine].mean(0)]
    names = " and ".join(p.name for p in sources)
    source = f"mean {embedder.name} vector per language of the {len(rows)} forum messages in {names}"
    target.write_text(json.dumps({"model": embedder.name, "source": source, "means": means}), encoding="utf-8")


def _no_catalog() -> Any:
    from bot.i18n import default_catalog

    return default_catalog()


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:2] == ["--prior"]:
        write_prior([Path(a) for a in sys.argv[2:]])
    else:
        print(json.dumps(run(Path(sys.argv[1]) if len(sys.argv) > 1 else TUNING_SET), indent=2))
