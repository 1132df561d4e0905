"""The learned half of the tagger: training is deterministic, the union behaves, threads and corrections work.

These use the real embedder (USE-multilingual, loaded once per process) and the
shipped model; the train rows used below come from the corpus's train split only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.app import shared_embedder
from bot.ports import Embedder
from bot.tagging import Correction, TopicTagger, apply, load_topic_model, trained_model_path
from bot.topic_model import Thresholds, TopicModel, decide, fit_logistic
from bot.topic_training import Labelled, featurise, shipped_corpus, split, train
from bot.topics import Tagger, default_tagger


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    found = shared_embedder()
    assert found is not None, "the shipped embedder is a dependency"
    return found


@pytest.fixture(scope="module")
def tagger(embedder: Embedder) -> TopicTagger:
    return TopicTagger(default_tagger(), embedder, TopicModel.load())


def small_corpus() -> list[Labelled]:
    """60 train rows spread over the three languages (never validation rows)."""
    rows = split(shipped_corpus(), "train")
    return [r for lang in ("en", "es", "pt") for r in [r for r in rows if r.lang == lang][:20]]


def test_training_twice_on_the_same_rows_gives_the_same_weights(embedder: Embedder, tmp_path: Path) -> None:
    rows = small_corpus()
    lexicon = default_tagger()
    slugs = [t.slug for t in lexicon.topics]
    first = train(rows, featurise(rows, embedder, lexicon), slugs, embedder.name)
    second = train(rows, featurise(rows, embedder, lexicon), slugs, embedder.name)
    assert np.array_equal(first.weights, second.weights) and np.array_equal(first.bias, second.bias)
    assert np.array_equal(first.gate_weights, second.gate_weights) and first.gate_bias == second.gate_bias
    assert first.thresholds == second.thresholds
    assert first.info["fingerprint"] == second.info["fingerprint"]
    assert (first.grams is None) == (second.grams is None)
    if first.grams is not None and second.grams is not None:
        assert np.array_equal(first.grams.weights, second.grams.weights) and first.grams.weight == second.grams.weight
    first.save(tmp_path / "m.npz")
    loaded = TopicModel.load(tmp_path / "m.npz")
    assert np.array_equal(loaded.weights, first.weights) and loaded.thresholds == first.thresholds
    assert loaded.slugs == tuple(slugs) and loaded.embedder == embedder.name


def test_more_rows_change_the_weights(embedder: Embedder) -> None:
    rows = small_corpus()
    lexicon = default_tagger()
    slugs = [t.slug for t in lexicon.topics]
    extra = [Labelled("c1", "en", "We moved every council vote to the evening so renters can come", ("housing",), "x")]
    base = train(rows, featurise(rows, embedder, lexicon), slugs, embedder.name)
    more = train(rows + extra, featurise(rows + extra, embedder, lexicon), slugs, embedder.name)
    assert not np.array_equal(base.weights, more.weights)


def test_logistic_regression_learns_a_separable_problem() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0], axis=1).astype(np.float64)
    w, b = fit_logistic(x, y, 1e-4, iterations=800)
    predicted = (x @ w.T + b) > 0
    assert (predicted == y.astype(bool)).mean() > 0.97


def test_decide_unites_lexicon_and_classifiers_behind_the_gate() -> None:
    t = Thresholds(topic=0.5, gate=0.5, lexicon_gate=0.3, strong_lexicon=4.0, fallback=0.2)
    probs = {"housing": 0.7, "budget": 0.25, "ai": 0.1}
    # topical: the lexicon's topic first, then the classifier's
    assert decide(["ai"], {"ai": 1.0}, probs, 0.9, t) == ("ai", "housing")
    # chatter: classifier topics need the gate; weak lexicon evidence is dropped too
    assert decide(["ai"], {"ai": 1.0}, probs, 0.1, t) == ()
    # ... unless the lexicon's evidence is strong
    assert decide(["ai"], {"ai": 4.0}, probs, 0.1, t) == ("ai",)
    # a topical message with nothing over the bar takes its most probable topic
    assert decide([], {}, {"budget": 0.25, "ai": 0.1}, 0.9, t) == ("budget",)
    assert decide([], {}, {"budget": 0.15, "ai": 0.1}, 0.9, t) == ()
    many = {s: 0.9 for s in ("a", "b", "c", "d")}
    assert len(decide([], {}, many, 0.9, t)) == 3


def test_practices_that_name_no_topic_are_tagged(tagger: TopicTagger) -> None:
    lexicon_only = TopicTagger(default_tagger())
    text = "after the payroll scam we put two-step codes on every shared inbox"
    assert lexicon_only.tag(text, "en").topics == ()
    assert "cybersecurity" in tagger.tag(text, "en").topics
    rule = "we wrote a one-page rule for which spreadsheets count as the official numbers"
    assert "data-governance" in tagger.tag(rule, "en").topics


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my kid's school has a climate poster contest", "en"),
        ("the hotel wifi is so bad I can't join", "en"),
        ("Who is free for a call on Tuesday?", "en"),
        ("¡Gracias a todos, nos vemos el jueves!", "es"),
        ("Bom dia, pessoal! Alguém sabe o link da reunião?", "pt"),
    ],
)
def test_chatter_and_passing_mentions_stay_untagged(tagger: TopicTagger, text: str, lang: str) -> None:
    assert tagger.tag(text, lang).topics == ()


def test_replies_inherit_their_questions_topics_unless_small_talk_or_elsewhere(tagger: TopicTagger) -> None:
    thread = ("homelessness",)
    vague = tagger.tag("Yes, we started doing that last spring and it worked well.", "en", thread=thread)
    assert vague.topics == ("homelessness",) and vague.inherited == ("homelessness",)
    assert tagger.tag("Yes, we started doing that last spring and it worked well.", "en").topics != thread
    assert tagger.tag("Thanks a lot, that helps!", "en", thread=thread).topics == ()
    moved = tagger.tag(
        "Unrelated, but has anyone moved their 311 app to a new vendor after a ransomware attack?", "en", thread=thread
    )
    assert "cybersecurity" in moved.topics and "homelessness" not in moved.topics


def test_a_correction_reaches_similar_messages_of_its_network_at_once(embedder: Embedder) -> None:
    stored: dict[str, list[Correction]] = {"wwc": []}
    tagger = TopicTagger(default_tagger(), embedder, TopicModel.load(), lambda net: stored.get(net, []))
    corrected = "Our tenants' union wants the council to publish every eviction filing as open data."
    before = tagger.tag(corrected, "en", network="wwc").topics
    vector = tagger.embed(corrected)
    assert vector is not None
    tagger.remember("wwc", Correction(1, vector, ("budget",), ("data-governance",)))
    similar = "Our tenant union wants the city council to publish all eviction filings as open data."
    after = tagger.tag(similar, "en", network="wwc")
    assert after.corrected_by == 1 and after.topics[0] == "budget" and "data-governance" not in after.topics
    assert tagger.tag(similar, "en", network="other").corrected_by is None
    unrelated = tagger.tag("How do you staff overnight homeless shelters in winter?", "en", network="wwc")
    assert unrelated.corrected_by is None and unrelated.topics == ("homelessness",)
    assert before != after.topics


def test_without_an_embedder_the_lexicon_alone_tags() -> None:
    lexicon = Tagger.load()
    tagger = TopicTagger(lexicon, None, None)
    assert not tagger.learned
    text = "¿Cómo atienden a las personas en situación de calle en invierno?"
    assert tagger.tag(text, "es").topics == lexicon.tag(text, "es").topics == ("homelessness",)
    assert tagger.tag("Abrimos más albergues.", "es", thread=("homelessness",)).topics == ("homelessness",)


def test_a_retrained_model_beside_the_database_wins(tmp_path: Path) -> None:
    database = tmp_path / "agora.db"
    shipped = load_topic_model(database)
    assert shipped is not None and shipped.info["trained_on"] > 1000
    assert shipped is not None
    small = TopicModel(
        shipped.embedder, shipped.slugs, shipped.weights, shipped.bias, shipped.gate_weights, 0.0, Thresholds()
    )
    small.save(trained_model_path(database))
    loaded = load_topic_model(database)
    assert loaded is not None and loaded.thresholds == Thresholds() and loaded.gate_bias == 0.0


def test_apply_puts_added_topics_first_and_keeps_three() -> None:
    assert apply(("ai", "budget", "climate"), ("housing",), ("budget",)) == ("housing", "ai", "climate")
    assert apply(("ai", "budget", "climate"), ("housing",), ()) == ("housing", "ai", "budget")
    assert apply((), (), ("ai",)) == ()


class BrokenEmbedder:
    name = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: object) -> object:
        self.calls += 1
        raise OSError("weights.npz is unreadable")

    def warm(self) -> None:
        return None


def test_a_failing_embedder_leaves_the_lexicon_tagging(caplog: pytest.LogCaptureFixture) -> None:
    broken = BrokenEmbedder()
    tagger = TopicTagger(default_tagger(), broken, TopicModel.load())
    text = "¿Cómo atienden a las personas en situación de calle en invierno?"
    assert tagger.tag(text, "es").topics == ("homelessness",)
    assert tagger.tag(text, "es", network="wwc").topics == ("homelessness",)
    assert broken.calls == 1 and not tagger.learned
    assert sum("sentence embedder" in r.getMessage() for r in caplog.records) == 1
