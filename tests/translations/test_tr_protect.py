"""Markup protection: what engines receive, and how their answers are put back.

These drive :class:`translations.protect.Plan` directly with string functions
standing in for an engine's answer, to pin down the exact placeholder text
and the repair rules; the backend tests prove the same through real engines.
"""

from __future__ import annotations

from bot.richtext import Code, CodeBlock, Emoji, LineBreak, Link, Mention, Quote, RichText, Styled, Text, protected
from translations.backends.apertium import SUPERBLANKS
from translations.glossary import Glossary, Matcher
from translations.protect import BRACKETS, Codec, Plan

NO_TERMS = Matcher([])


def run_plan(rt: RichText, engine: dict[str, str], codec: Codec = BRACKETS, matcher: Matcher = NO_TERMS) -> RichText:
    """Answer each request from ``engine`` (a dict), falling back to echoing it."""
    plan = Plan(rt, matcher, codec)
    fallback = plan.accept([engine.get(r, r) for r in plan.requests()])
    plan.accept_fallback([engine.get(r, r) for r in fallback])
    return plan.result("es")


ASK = (
    Text("ask "),
    Mention("user", "U1", "ann"),
    Text(" about "),
    Styled("bold", (Text("the plan"),), "*"),
    Text(" today"),
)


def test_inline_tokens_become_placeholders_in_one_sentence() -> None:
    plan = Plan(ASK, NO_TERMS, BRACKETS)
    assert plan.requests() == ["ask [1] about [2] the plan [3] today"]


def test_translation_is_slotted_between_the_original_segments() -> None:
    out = run_plan(ASK, {"ask [1] about [2] the plan [3] today": "pregunta a [1] sobre [2] el plan [3] hoy"})
    assert out == (
        Text("pregunta a "),
        Mention("user", "U1", "ann"),
        Text(" sobre "),
        Styled("bold", (Text("el plan"),), "*"),
        Text(" hoy"),
    )


def test_engine_spacing_around_placeholders_is_repaired_to_the_source_layout() -> None:
    out = run_plan(ASK, {"ask [1] about [2] the plan [3] today": "pregunta a[1]sobre [2] el plan [3]hoy"})
    assert out[1] == Mention("user", "U1", "ann")
    assert out[2] == Text(" sobre ")
    assert out[3] == Styled("bold", (Text("el plan"),), "*")  # no spaces inside the bold span
    assert out[4] == Text(" hoy")


def test_damaged_placeholders_fall_back_to_pieces_one_by_one() -> None:
    answers = {
        "ask [1] about [2] the plan [3] today": "pregunta [1] sobre el plan [3] hoy",  # [2] lost
        "ask": "pregunta",
        "about": "sobre",
        "the plan": "el plan",
        "today": "hoy",
    }
    out = run_plan(ASK, answers)
    assert out == (
        Text("pregunta "),
        Mention("user", "U1", "ann"),
        Text(" sobre "),
        Styled("bold", (Text("el plan"),), "*"),
        Text(" hoy"),
    )


def test_reordered_or_duplicated_placeholders_count_as_damage() -> None:
    for bad in ("[3] ask [1] about [2] the plan today", "ask [1] [1] about [2] the plan [3] today"):
        plan = Plan(ASK, NO_TERMS, BRACKETS)
        assert plan.accept([bad]) == ["ask", "about", "the plan", "today"]


def test_emptied_styled_span_counts_as_damage() -> None:
    plan = Plan(ASK, NO_TERMS, BRACKETS)
    assert plan.accept(["pregunta [1] sobre [2][3] hoy"]) != []


def test_text_that_looks_like_a_placeholder_is_never_sent_with_placeholders() -> None:
    rt = (Text("see [1] and "), Mention("user", "U1"), Text(" now"))
    plan = Plan(rt, NO_TERMS, BRACKETS)
    assert plan.requests() == []
    assert plan.fallback_requests() == ["see [1] and", "now"]


def test_breaks_code_blocks_and_quotes_cut_runs() -> None:
    rt = (
        Text("first line"),
        LineBreak(),
        CodeBlock("x = 1\n", "py"),
        Quote((Text("quoted words"),)),
        Text("last "),
        Code("ls -l"),
    )
    plan = Plan(rt, NO_TERMS, BRACKETS)
    assert plan.requests() == ["first line", "quoted words", "last [1]"]
    out = run_plan(rt, {"first line": "primera línea", "quoted words": "palabras citadas", "last [1]": "última [1]"})
    assert out == (
        Text("primera línea"),
        LineBreak(),
        CodeBlock("x = 1\n", "py"),
        Quote((Text("palabras citadas"),)),
        Text("última "),
        Code("ls -l"),
    )


def test_runs_without_words_never_reach_the_engine() -> None:
    rt = (Mention("user", "U1"), Text(" "), Emoji("tada"), Text(" 2024!"), Link("https://x.y"))
    plan = Plan(rt, NO_TERMS, BRACKETS)
    assert plan.runs == []
    assert plan.result("es") == rt


def test_link_labels_are_translated_and_urls_kept() -> None:
    rt = (Text("read "), Link("https://city.gov/plan", "the plan"), Text("."))
    out = run_plan(rt, {"read [1] the plan [2].": "lee [1] el plan [2] ."})
    assert out == (Text("lee "), Link("https://city.gov/plan", "el plan"), Text("."))


def test_glossary_terms_travel_as_placeholders_and_render_per_target() -> None:
    matcher = Glossary.load().matcher()
    rt = (Text("Housing First in Buenos Aires cut the PIT count"),)
    plan = Plan(rt, matcher, BRACKETS)
    assert plan.requests() == ["[1] in [2] cut the [3] count"]
    plan.accept(["[1] en [2] redujo el conteo [3]"])
    assert plan.result("es") == (Text("Vivienda Primero en Buenos Aires redujo el conteo PIT"),)
    assert plan.result("pt") == (Text("Moradia Primeiro en Buenos Aires redujo el conteo PIT"),)


def test_superblank_codec_escapes_text_and_reads_blanks() -> None:
    rt = (Text("a [b] {c} "), Mention("user", "U1"), Text(" x^y$z @w \\ /v <t>"))
    plan = Plan(rt, NO_TERMS, SUPERBLANKS)
    (request,) = plan.requests()
    # a caret travels as the noncharacter U+FDD0 (lrx-proc mishandles an escaped one at the end of a request)
    assert request == r"a \[b\] \{c\} [1] x" + "\ufdd0" + r"y\$z \@w \\ \/v \<t\>"
    parsed = SUPERBLANKS.parse(request + "[][\n]")
    assert parsed == [r"a \[b\] \{c\} ", 1, r" x" + "\ufdd0" + r"y\$z \@w \\ \/v \<t\>"]
    assert SUPERBLANKS.unescape(str(parsed[2])) == " x^y$z @w \\ /v <t>"
    out = run_plan(rt, {}, SUPERBLANKS)
    assert out == rt
    assert list(protected(out)) == [Mention("user", "U1")]
    assert SUPERBLANKS.parse("a [unexpected] b") is None
