"""The labelled corpus: well-formed rows, and a validation split nobody edits or copies into train."""

from __future__ import annotations

from collections import Counter

from bot.topic_training import Labelled, conversation_folds, fingerprint, questions_of, shipped_corpus, split
from bot.topics import LANGS, default_tagger

# The validation split as first written (545 rows). Changing a validation row changes this: don't.
VALIDATION_FINGERPRINT = "bd8f99f3c0a36bb4"
KINDS = {"question", "answer", "chatter", "negative"}


def test_every_row_is_well_formed() -> None:
    slugs = {t.slug for t in default_tagger().topics}
    rows = shipped_corpus()
    assert len({row.id for row in rows}) == len(rows)
    for row in rows:
        assert row.lang in LANGS and row.split in ("train", "validation") and row.text.strip(), row.id
        assert set(row.topics) <= slugs and len(set(row.topics)) == len(row.topics) <= 3, row.id
        if row.kind in ("chatter", "negative"):
            assert not row.topics, row.id
        elif row.kind in ("question", "answer"):
            assert row.topics, row.id


def test_the_validation_split_is_unchanged_and_never_in_train() -> None:
    rows = shipped_corpus()
    validation = split(rows, "validation")
    assert fingerprint(validation) == VALIDATION_FINGERPRINT
    seen = {row.text.strip().lower() for row in validation}
    assert not [row.id for row in split(rows, "train") if row.text.strip().lower() in seen]


def test_the_train_split_is_balanced_over_languages_and_topics() -> None:
    train = [row for row in split(shipped_corpus(), "train") if row.kind in KINDS]
    by_lang = Counter(row.lang for row in train)
    assert min(by_lang.values()) >= 0.9 * max(by_lang.values())
    for lang in LANGS:
        topics = Counter(t for row in train if row.lang == lang for t in row.topics)
        assert len(topics) == 11 and min(topics.values()) >= 40, (lang, topics)
    untagged = sum(1 for row in train if not row.topics)
    assert untagged >= len(train) / 4  # at least a quarter chatter and hard negatives


def test_translations_of_one_conversation_share_a_fold() -> None:
    def row(i: int, kind: str, lang: str, thread: str = "") -> Labelled:
        return Labelled(str(i), lang, "text", (), kind, thread=thread)

    rows = [
        row(0, "question", "en", "t1"),
        row(1, "answer", "en", "t1"),
        row(2, "question", "en", "t2"),
        row(3, "question", "es", "t1"),
        row(4, "answer", "es", "t1"),
        row(5, "question", "pt"),
        row(6, "answer", "pt"),
        row(7, "question", "pt", "t2"),
    ]
    folds = conversation_folds(rows, 5)
    assert folds[0] == folds[1] == folds[3] == folds[4]
    assert folds[2] == folds[7] != folds[0]
    assert folds[5] == folds[6] not in (folds[0], folds[2])


def test_an_answer_replies_to_the_last_question_in_its_language() -> None:
    rows = [
        Labelled("q1", "en", "q", ("ai",), "question"),
        Labelled("a1", "en", "a", ("ai",), "answer"),
        Labelled("c1", "en", "c", (), "chatter"),
        Labelled("a2", "en", "a", ("ai",), "answer"),
        Labelled("a3", "es", "a", ("ai",), "answer"),  # another language: no question known
        Labelled("q2", "es", "q", ("budget",), "question"),
        Labelled("a4", "es", "a", ("budget",), "answer"),
    ]
    found = questions_of(rows)
    assert {k: v.id for k, v in found.items()} == {"a1": "q1", "a2": "q1", "a4": "q2"}
