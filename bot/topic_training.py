"""Training and judging the topic classifiers: the labelled corpus, cross-validation, figures.

The corpus ships with the package (``bot/data/topics/corpus/*.jsonl``), each row
marked ``"split": "train"`` or ``"validation"``. Every choice (regularisation,
the neighbour vote, the thresholds of :class:`bot.topic_model.Thresholds`) is
made by 5-fold cross-validation on the train rows alone, each conversation kept
in one fold (an answer scored by a model that saw its question flatters whatever
remembers rows, the neighbour vote most); the validation rows are only ever
scored, never looked at to tune anything, so their figures say how the tagger
does on messages nobody tuned for. Corrections made with ``/agora tag`` join
the train rows when ``agora topics train`` runs.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from importlib import resources
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.ports import Embedder
from bot.topic_model import MAX_TOPICS, Matrix, Neighbours, Thresholds, TopicModel, decide, fit_logistic
from bot.topics import LANGS, Tagger, TagResult
from bot.word_grams import WordGrams, fit_sparse_logistic

FOLDS = 5
L2_GRID = (3e-5, 1e-4, 3e-4, 1e-3)
TOPIC_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(7))  # 0.3 .. 0.6
GATE_GRID = (0.3, 0.4, 0.5, 0.6)
LEXICON_GATE_GRID = (0.0, 0.3, 0.5, 0.6, 0.7)
STRONG_GRID = (3.0, 4.0, float("inf"))
FALLBACK_GRID = (0.1, 0.2, 0.3, 1.0)
Probabilities = npt.NDArray[np.floating[Any]]
NEIGHBOUR_K_GRID = (10, 25, 50)
NEIGHBOUR_WEIGHT_GRID = (0.0, 0.2, 0.3, 0.5)  # 0: no neighbour vote
NEIGHBOUR_TEMPERATURE = 0.05
NEIGHBOUR_DIMS = 64
GRAM_WEIGHT_GRID = (0.0, 0.3, 0.5, 0.7)  # 0: embedding classifiers alone
GRAM_L2 = 3e-6  # one setting: each word-gram fit costs seconds, and 3e-6 beat 1e-5 on the first corpus
# The cross-validated chatter false-tag rate the thresholds must stay under (the target is 10%: keep a margin).
CHATTER_CEILING = 0.08
UNTAGGED_KINDS = ("chatter", "negative")
CALIBRATION_LIST = "calibration.txt"  # in the corpus folder: the files whose train rows calibrate the thresholds
CONVERSATION_KINDS = ("answer", "chatter", "negative")  # rows that continue the conversation before them


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled message of the corpus (or a manager's correction)."""

    id: str
    lang: str
    text: str
    topics: tuple[str, ...]
    kind: str
    split: str = "train"
    thread: str = ""  # rows sharing it (a conversation and its translations) stay in one cross-validation fold
    calibrates: bool = False  # labelled by the validation split's writers: the thresholds are fitted to these rows


def read_jsonl(path: Path, split: str | None = None, *, calibrates: bool = False) -> list[Labelled]:
    """Rows of a labelled JSON Lines file; ``split`` overrides rows without one (the dev sets)."""
    rows: list[Labelled] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            rows.append(
                Labelled(
                    id=str(row["id"]),
                    lang=str(row["lang"]),
                    text=str(row["text"]),
                    topics=tuple(str(t) for t in row["topics"]),
                    kind=str(row.get("kind", "")),
                    split=str(row.get("split") or split or "train"),
                    thread=str(row.get("thread") or ""),
                    calibrates=calibrates,
                )
            )
    return rows


def shipped_corpus() -> list[Labelled]:
    """Every row of the corpus shipped in ``bot/data/topics/corpus``, files in name order."""
    with resources.as_file(resources.files("bot") / "data" / "topics" / "corpus") as folder:
        return read_corpus(folder)


def read_corpus(folder: Path) -> list[Labelled]:
    """Every row of the ``*.jsonl`` files in ``folder``, files in name order.

    Rows of the files named in ``calibration.txt`` (if there is one) calibrate
    the thresholds: see :func:`train`.
    """
    listed = folder / CALIBRATION_LIST
    calibrating = set(listed.read_text(encoding="utf-8").split()) if listed.is_file() else set()
    rows: list[Labelled] = []
    for path in sorted(folder.glob("*.jsonl")):
        rows += read_jsonl(path, calibrates=path.name in calibrating)
    return rows


def split(rows: Iterable[Labelled], name: str) -> list[Labelled]:
    return [row for row in rows if row.split == name]


# ---------------------------------------------------------------- features


@dataclass(frozen=True, slots=True)
class Features:
    """What the combination needs per message: its text, its embedding and the lexicon's verdict."""

    texts: tuple[str, ...]
    vectors: Matrix
    lexicon: tuple[TagResult, ...]


def featurise(rows: Sequence[Labelled], embedder: Embedder, lexicon: Tagger) -> Features:
    texts = tuple(row.text for row in rows)
    vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    return Features(texts, vectors, tuple(lexicon.tag(row.text, row.lang) for row in rows))


def label_matrix(rows: Sequence[Labelled], slugs: Sequence[str]) -> npt.NDArray[np.float64]:
    y = np.zeros((len(rows), len(slugs)))
    index = {slug: i for i, slug in enumerate(slugs)}
    for r, row in enumerate(rows):
        for topic in row.topics:
            if topic in index:
                y[r, index[topic]] = 1.0
    return y


def predict(model: TopicModel, features: Features) -> list[tuple[str, ...]]:
    """The combined tagger's topics for already featurised messages."""
    probs, gate = model.probabilities(features.vectors, features.texts)
    out = []
    for i, lex in enumerate(features.lexicon):
        p = {slug: float(probs[i, k]) for k, slug in enumerate(model.slugs)}
        out.append(decide(lex.topics, lex.scores, p, float(gate[i]), model.thresholds))
    return out


# ---------------------------------------------------------------- training


def train(
    rows: Sequence[Labelled], features: Features, slugs: Sequence[str], embedder_name: str, *, folds: int = FOLDS
) -> TopicModel:
    """Fit the classifiers on ``rows`` (all of them: pass train rows only) with CV-chosen settings.

    Deterministic: folds are assigned by conversation (:func:`conversation_folds`),
    the fit starts from zero weights, the neighbour projection is an SVD and the
    grids are walked in a fixed order.
    """
    y = label_matrix(rows, slugs)
    targets = np.hstack([y, (y.sum(axis=1) > 0)[:, None].astype(np.float64)])
    fold_of = conversation_folds(rows, folds)
    best_l2, oof = L2_GRID[0], np.zeros_like(targets)
    best_loss = float("inf")
    for l2 in L2_GRID:
        candidate = np.zeros_like(targets)
        for f in range(folds):
            train_idx, test_idx = fold_of != f, fold_of == f
            w, b = fit_logistic(features.vectors[train_idx], targets[train_idx], l2)
            candidate[test_idx] = _sigmoid(features.vectors[test_idx] @ w.T + b)
        loss = _log_loss(candidate, targets)
        if loss < best_loss - 1e-9:
            best_l2, best_loss, oof = l2, loss, candidate
    gram_weight, oof = choose_gram_weight(features.texts, targets, oof, fold_of, folds)
    k, weight, oof = choose_neighbours(features.vectors, targets, oof, fold_of, folds)
    thresholds, cv = calibrate(oof, features.lexicon, rows, slugs)
    w, b = fit_logistic(features.vectors, targets, best_l2)
    grams = fit_grams(features.texts, targets, gram_weight) if gram_weight > 0 else None
    neighbours = (
        Neighbours.build(features.vectors, targets, NEIGHBOUR_DIMS, k, NEIGHBOUR_TEMPERATURE, weight)
        if weight > 0
        else None
    )
    info = {
        "trained_on": len(rows),
        "fingerprint": fingerprint(rows),
        "l2": best_l2,
        "neighbours": {"k": k, "weight": weight, "dims": NEIGHBOUR_DIMS} if neighbours else None,
        "grams": {"weight": gram_weight, "l2": GRAM_L2, "vocabulary": len(grams.keys)} if grams else None,
        "cross_validated": cv,
        "folds": folds,
    }
    return TopicModel(
        embedder=embedder_name,
        slugs=tuple(slugs),
        weights=w[:-1],
        bias=b[:-1],
        gate_weights=w[-1],
        gate_bias=float(b[-1]),
        thresholds=thresholds,
        info=info,
        neighbours=neighbours,
        grams=grams,
    )


def fit_grams(texts: Sequence[str], targets: npt.NDArray[np.float64], weight: float) -> WordGrams:
    """Word-gram classifiers for every output (topics, then the gate) over the vocabulary of ``texts``."""
    keys, idf = WordGrams.vocabulary(texts)
    w, b = fit_sparse_logistic(WordGrams.rows(texts, keys, idf), targets, GRAM_L2)
    return WordGrams(keys, idf, w.astype(np.float16), b.astype(np.float32), weight)


def choose_gram_weight(
    texts: Sequence[str],
    targets: npt.NDArray[np.float64],
    oof: npt.NDArray[np.float64],
    fold_of: npt.NDArray[np.int64],
    folds: int,
) -> tuple[float, npt.NDArray[np.float64]]:
    """The word-gram classifiers' share with the best out-of-fold log-loss, and the blended predictions.

    Each fold's vocabulary comes from its own training rows, as the shipped
    model's comes from all of them. Share 0 is on the grid, so they are only
    kept when they help.
    """
    grams = np.zeros_like(oof)
    for f in range(folds):
        train_idx, test_idx = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        if not len(train_idx):
            return 0.0, oof  # one conversation: nothing to learn from
        if not len(test_idx):
            continue
        model = fit_grams([texts[int(i)] for i in train_idx], targets[train_idx], 1.0)
        grams[test_idx] = model.probabilities([texts[int(i)] for i in test_idx])
    best = (0.0, oof)
    best_loss = _log_loss(oof, targets)
    for weight in GRAM_WEIGHT_GRID:
        blended = (1.0 - weight) * oof + weight * grams
        loss = _log_loss(blended, targets)
        if loss < best_loss - 1e-9:
            best, best_loss = (weight, blended), loss
    return best


def conversation_folds(rows: Sequence[Labelled], folds: int) -> npt.NDArray[np.int64]:
    """Fold of each row, a whole conversation at a time.

    The corpus is written as conversations: a question, then its answers and
    the chatter around them, and an answer rarely names its topic, so scoring
    it with a model that saw its question measures memory, not generalisation.
    A question (or a change of language, or any other kind of row, such as a
    correction) opens a conversation; answers, chatter and hard negatives join
    the one before them. Rows that name a ``thread`` are grouped by it instead:
    a conversation written in all three languages is one group, or a model
    that saw one translation would be scored on another. Conversations go
    round-robin over the folds.
    """
    group = np.zeros(len(rows), dtype=np.int64)
    threads: dict[str, int] = {}
    current = -1
    for i, row in enumerate(rows):
        if row.thread:
            if row.thread not in threads:
                current += 1
                threads[row.thread] = current
            group[i] = threads[row.thread]
        elif i > 0 and row.kind in CONVERSATION_KINDS and rows[i - 1].lang == row.lang:
            group[i] = group[i - 1]
        else:
            current += 1
            group[i] = current
    out: npt.NDArray[np.int64] = group % folds
    return out


def questions_of(rows: Sequence[Labelled]) -> dict[str, Labelled]:
    """Each answer's question: the last question before it in the corpus, in the same language.

    The corpus is written as conversations, so this is the message an answer
    replies to, which the relay passes as thread context (a reply inherits its
    question's topics unless it clearly moves elsewhere).
    """
    found: dict[str, Labelled] = {}
    question: Labelled | None = None
    for row in rows:
        if question is not None and row.lang != question.lang:
            question = None
        if row.kind == "question":
            question = row
        elif row.kind == "answer" and question is not None:
            found[row.id] = question
    return found


def choose_neighbours(
    vectors: Matrix,
    targets: npt.NDArray[np.float64],
    oof: npt.NDArray[np.float64],
    fold_of: npt.NDArray[np.int64],
    folds: int,
) -> tuple[int, float, npt.NDArray[np.float64]]:
    """The neighbour count and blend weight with the best out-of-fold log-loss, and the blended predictions.

    Weight 0 (no vote) is on the grid, so the vote is only kept when it helps.
    """
    votes = {k: np.zeros_like(targets) for k in NEIGHBOUR_K_GRID}
    for f in range(folds):
        train_idx, test_idx = fold_of != f, fold_of == f
        if not train_idx.any():
            return NEIGHBOUR_K_GRID[0], 0.0, oof  # one conversation: nothing to vote with
        if not test_idx.any():
            continue
        built = Neighbours.build(
            vectors[train_idx], targets[train_idx], NEIGHBOUR_DIMS, NEIGHBOUR_K_GRID[0], NEIGHBOUR_TEMPERATURE, 0.0
        )
        for k in NEIGHBOUR_K_GRID:
            votes[k][test_idx] = replace(built, k=k).vote(vectors[test_idx])
    best = (NEIGHBOUR_K_GRID[0], 0.0, oof)
    best_loss = _log_loss(oof, targets)
    for k, weight in product(NEIGHBOUR_K_GRID, NEIGHBOUR_WEIGHT_GRID):
        if weight == 0.0:
            continue
        blended = (1.0 - weight) * oof + weight * votes[k]
        loss = _log_loss(blended, targets)
        if loss < best_loss - 1e-9:
            best, best_loss = (k, weight, blended), loss
    return best


def calibrate(
    oof: npt.NDArray[np.float64], lexicon: Sequence[TagResult], rows: Sequence[Labelled], slugs: Sequence[str]
) -> tuple[Thresholds, dict[str, Any]]:
    """Thresholds fitted to the out-of-fold predictions of the calibrating rows, if any, else of every row;
    and the cross-validated figures of every row with them.

    Writers differ in how readily they give a message a second topic; rows
    from many writers teach the classifiers what each topic looks like, and
    the thresholds then follow the labelling of the writers the tagger is
    judged against (the validation split's, whose train rows calibrate).
    """
    use = [i for i, row in enumerate(rows) if row.calibrates] or list(range(len(rows)))
    pick = np.asarray(use)
    thresholds, _ = choose_thresholds(
        oof[pick, :-1], oof[pick, -1], [lexicon[i] for i in use], [rows[i] for i in use], slugs
    )
    lex, strength = _lexicon_arrays(lexicon, slugs)
    pred = _vector_decide(oof[:, :-1], oof[:, -1], lex, strength, thresholds)
    predictions = [tuple(slugs[int(k)] for k in np.flatnonzero(row)) for row in pred]
    return thresholds, {**figures(rows, predictions, slugs), "calibrated_on": len(use)}


def choose_thresholds(
    probs: Probabilities,
    gate: Probabilities,
    lexicon: Sequence[TagResult],
    rows: Sequence[Labelled],
    slugs: Sequence[str],
) -> tuple[Thresholds, dict[str, Any]]:
    """The grid point with the best out-of-fold micro-F1 whose chatter rate stays under the ceiling."""
    gold = label_matrix(rows, slugs).astype(bool)
    lex, strength = _lexicon_arrays(lexicon, slugs)
    untagged = np.array([not row.topics for row in rows])
    best: tuple[float, float] | None = None
    chosen = Thresholds()
    for point in product(TOPIC_GRID, GATE_GRID, LEXICON_GATE_GRID, STRONG_GRID, FALLBACK_GRID):
        candidate = Thresholds(*point)
        pred = _vector_decide(probs, gate, lex, strength, candidate)
        f1 = _micro_f1(gold, pred)
        chatter = float(pred[untagged].any(axis=1).mean()) if untagged.any() else 0.0
        key = (f1, -chatter) if chatter <= CHATTER_CEILING else (-1.0 + f1 - chatter, -chatter)
        if best is None or key > best:
            best, chosen = key, candidate
    pred = _vector_decide(probs, gate, lex, strength, chosen)
    predictions = [tuple(slugs[int(k)] for k in np.flatnonzero(row)) for row in pred]
    return chosen, figures(rows, predictions, slugs)


def _lexicon_arrays(
    lexicon: Sequence[TagResult], slugs: Sequence[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """The lexicon's topics as a boolean matrix, and each message's strongest lexicon score."""
    index = {slug: k for k, slug in enumerate(slugs)}
    lex = np.zeros((len(lexicon), len(slugs)), dtype=bool)
    strength = np.zeros(len(lexicon))
    for i, result in enumerate(lexicon):
        for slug in result.topics:
            lex[i, index[slug]] = True
        strength[i] = max((result.scores.get(s, 0.0) for s in result.topics), default=0.0)
    return lex, strength


def _vector_decide(
    probs: Probabilities,
    gate: Probabilities,
    lex: npt.NDArray[np.bool_],
    strength: npt.NDArray[np.float64],
    t: Thresholds,
) -> npt.NDArray[np.bool_]:
    """:func:`bot.topic_model.decide` over whole arrays, for the grid search."""
    keep_lex = lex & ((gate >= t.lexicon_gate) | (strength >= t.strong_lexicon))[:, None]
    topical = gate >= t.gate
    chosen = keep_lex | ((probs >= t.topic) & topical[:, None])
    rows = np.arange(len(probs))
    best = np.argmax(probs, axis=1)
    fallback = ~chosen.any(axis=1) & topical & (probs[rows, best] >= t.fallback)
    chosen[rows[fallback], best[fallback]] = True
    score = np.where(chosen, probs + keep_lex, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")[:, :MAX_TOPICS]
    top = np.zeros_like(chosen)
    np.put_along_axis(top, order, True, axis=1)
    out: npt.NDArray[np.bool_] = top & chosen
    return out


def fingerprint(rows: Sequence[Labelled]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row.id, row.lang, row.text, list(row.topics)], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------- figures


def figures(rows: Sequence[Labelled], predictions: Sequence[Sequence[str]], slugs: Sequence[str]) -> dict[str, Any]:
    """micro/macro-F1, per language and per topic, and how often untagged messages got a tag."""
    pairs = [(set(row.topics), set(pred)) for row, pred in zip(rows, predictions, strict=True)]
    per_topic: dict[str, dict[str, float]] = {}
    for slug in slugs:
        tp = sum(1 for g, p in pairs if slug in g and slug in p)
        fp = sum(1 for g, p in pairs if slug not in g and slug in p)
        fn = sum(1 for g, p in pairs if slug in g and slug not in p)
        per_topic[slug] = {**prf(tp, fp, fn), "support": tp + fn}
    chatter = [p for row, (_, p) in zip(rows, pairs, strict=True) if row.kind == "chatter"]
    untagged = [p for g, p in pairs if not g]
    return {
        "messages": len(rows),
        "micro": micro_prf(pairs),
        "macro_f1": round(statistics.fmean(per_topic[s]["f1"] for s in slugs if per_topic[s]["support"]), 4)
        if any(per_topic[s]["support"] for s in slugs)
        else 0.0,
        "per_language": {
            lang: micro_prf(pair for row, pair in zip(rows, pairs, strict=True) if row.lang == lang)["f1"]
            for lang in LANGS
        },
        "per_language_macro_f1": {
            lang: _macro([r for r in rows if r.lang == lang], rows, pairs, slugs) for lang in LANGS
        },
        "chatter_false_tag_rate": round(sum(1 for p in chatter if p) / len(chatter), 4) if chatter else 0.0,
        "untagged_false_tag_rate": round(sum(1 for p in untagged if p) / len(untagged), 4) if untagged else 0.0,
        "per_topic": per_topic,
    }


def _macro(
    subset: Sequence[Labelled],
    rows: Sequence[Labelled],
    pairs: Sequence[tuple[set[str], set[str]]],
    slugs: Sequence[str],
) -> float:
    wanted = {id(r) for r in subset}
    chosen = [pair for row, pair in zip(rows, pairs, strict=True) if id(row) in wanted]
    scores = []
    for slug in slugs:
        tp = sum(1 for g, p in chosen if slug in g and slug in p)
        fp = sum(1 for g, p in chosen if slug not in g and slug in p)
        fn = sum(1 for g, p in chosen if slug in g and slug not in p)
        if tp + fn:
            scores.append(prf(tp, fp, fn)["f1"])
    return round(statistics.fmean(scores), 4) if scores else 0.0


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from counts (0 where undefined), rounded for reports."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def micro_prf(pairs: Iterable[tuple[AbstractSet[str], AbstractSet[str]]]) -> dict[str, float]:
    """Micro precision, recall and F1 over (gold, predicted) topic sets."""
    tp = fp = fn = 0
    for gold, predicted in pairs:
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    return prf(tp, fp, fn)


def _micro_f1(gold: npt.NDArray[np.bool_], pred: npt.NDArray[np.bool_]) -> float:
    tp = int((gold & pred).sum())
    fp = int((~gold & pred).sum())
    fn = int((gold & ~pred).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _log_loss(p: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).mean())


def _sigmoid(z: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z.astype(np.float64), -30, 30)))
    return out


Progress = Callable[[str], None]
