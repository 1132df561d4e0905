"""Slack mrkdwn ↔ rich text: golden cases, a round-trip property, and parse never failing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.markup import escape, parse, render, unescape
from bot.richtext import (
    Code,
    CodeBlock,
    Emoji,
    LineBreak,
    Link,
    Mention,
    Quote,
    RichText,
    Segment,
    Styled,
    Text,
    normalise,
)
from tests.strategies import slack_rich_text


def B(*children: Segment) -> Styled:
    return Styled("bold", children, "*")


def I(*children: Segment) -> Styled:  # noqa: E743
    return Styled("italic", children, "_")


def S(*children: Segment) -> Styled:
    return Styled("strike", children, "~")


GOLDEN: list[tuple[str, RichText]] = [
    ("plain words", (Text("plain words"),)),
    ("", ()),
    ("line one\nline two", (Text("line one"), LineBreak(), Text("line two"))),
    ("para\n\nnext", (Text("para"), LineBreak(), LineBreak(), Text("next"))),
    ("<@U1>", (Mention("user", "U1"),)),
    ("hi <@U1|ana>!", (Text("hi "), Mention("user", "U1", "ana"), Text("!"))),
    ("<#C1|general>", (Mention("channel", "C1", "general"),)),
    ("<#C1>", (Mention("channel", "C1"),)),
    (
        "<!here> <!channel> <!everyone>",
        (
            Mention("broadcast", "here"),
            Text(" "),
            Mention("broadcast", "channel"),
            Text(" "),
            Mention("broadcast", "everyone"),
        ),
    ),
    ("<!here|@here>", (Mention("broadcast", "here"),)),
    ("<!subteam^S1|@housing-team>", (Mention("group", "S1", "housing-team"),)),
    ("<!subteam^S1>", (Mention("group", "S1"),)),
    ("<!date^1700000000^{date_short}|Nov 14>", (Text("Nov 14"),)),
    ("<https://example.org>", (Link("https://example.org"),)),
    ("<https://example.org/a?b=1&amp;c=2|the report>", (Link("https://example.org/a?b=1&c=2", "the report"),)),
    ("<mailto:ana@boston.gov|Ana>", (Link("mailto:ana@boston.gov", "Ana"),)),
    ("<https://x.org|a &lt;b&gt; &amp; c>", (Link("https://x.org", "a <b> & c"),)),
    (":wave: hi", (Emoji("wave"), Text(" hi"))),
    (":+1::skin-tone-3:", (Emoji("+1"), Emoji("skin-tone-3"))),
    (":white_check_mark: done", (Emoji("white_check_mark"), Text(" done"))),
    ("run `make test` now", (Text("run "), Code("make test"), Text(" now"))),
    ("`a &amp;&amp; b`", (Code("a && b"),)),
    ("```\nx = 1\ny = 2\n```", (CodeBlock("x = 1\ny = 2"),)),
    ("```inline block```", (CodeBlock("inline block"),)),
    ("```*not bold* <@U1>```", (CodeBlock("*not bold* <@U1>"),)),
    ("*bold*", (B(Text("bold")),)),
    ("_italic_ ~gone~", (I(Text("italic")), Text(" "), S(Text("gone")))),
    ("*_both_*", (B(I(Text("both"))),)),
    ("*bold <@U1> here*", (B(Text("bold "), Mention("user", "U1"), Text(" here")),)),
    ("(*aside*)", (Text("("), B(Text("aside")), Text(")"))),
    ("snake_case_name", (Text("snake_case_name"),)),
    ("2*3*4 = 24", (Text("2*3*4 = 24"),)),
    ("* not bold *", (Text("* not bold *"),)),
    ("*unclosed", (Text("*unclosed"),)),
    ("a * b", (Text("a * b"),)),
    ("*multi\nline*", (Text("*multi"), LineBreak(), Text("line*"))),
    ("&gt; quoted", (Quote((Text("quoted"),)),)),
    ("> quoted *too*", (Quote((Text("quoted "), B(Text("too")))),)),
    (
        "&gt; one\n&gt; two\nafter",
        (
            Quote((Text("one"),)),
            LineBreak(),
            Quote((Text("two"),)),
            LineBreak(),
            Text("after"),
        ),
    ),
    ("not &gt; a quote", (Text("not > a quote"),)),
    ("5 &lt; 6 &amp;&amp; 7 &gt; 3", (Text("5 < 6 && 7 > 3"),)),
    ("&amp;lt; stays", (Text("&lt; stays"),)),
    ("&quot;kept&quot;", (Text("&quot;kept&quot;"),)),
    ("<>", (Text("<>"),)),
    ("email <!foo>", (Text("email @foo"),)),
]


@pytest.mark.parametrize(("source", "expected"), GOLDEN, ids=[g[0][:30] or "empty" for g in GOLDEN])
def test_parse_golden(source: str, expected: RichText) -> None:
    assert parse(source) == expected


RENDER: list[tuple[RichText, str]] = [
    ((Text("a < b & c > d"),), "a &lt; b &amp; c &gt; d"),
    ((Mention("user", "U1", "ana"),), "<@U1|ana>"),
    ((Mention("group", "S1", "team"),), "<!subteam^S1|@team>"),
    ((Mention("broadcast", "here"),), "<!here>"),
    ((Link("https://x.org/?a=1&b=2", "R&D"),), "<https://x.org/?a=1&amp;b=2|R&amp;D>"),
    ((Link("https://x.org"),), "<https://x.org>"),
    ((Emoji("party", "1234"),), ":party:"),
    ((CodeBlock("print(1)", "python"),), "```\nprint(1)\n```"),
    ((Code("has ` tick"),), "```\nhas ` tick\n```"),
    ((Code(""),), ""),
    # other platforms' emphasis: whitespace moves outside the markers, which Slack needs
    ((Text("x"), Styled("bold", (Text(" spaced "),), "**"), Text("y")), "x *spaced* y"),
    ((Styled("underline", (Text("under"),), "__"),), "under"),
    ((Styled("spoiler", (Text("secret"),), "||"),), "secret"),
    ((Styled("italic", (Text("a"), LineBreak(), Text("b")), "*"),), "_a_\n_b_"),
    ((Text("before"), Quote((Text("q"),)), Text("after")), "before\n> q\nafter"),
    ((Quote((Text("a"), LineBreak(), Text("b"))),), "> a\n> b"),
]


@pytest.mark.parametrize(("rt", "expected"), RENDER)
def test_render_golden(rt: RichText, expected: str) -> None:
    assert render(rt) == expected


@pytest.mark.parametrize(("source", "expected"), GOLDEN, ids=[g[0][:30] or "empty" for g in GOLDEN])
def test_golden_round_trips_through_render(source: str, expected: RichText) -> None:
    assert parse(render(expected)) == expected


def test_entities_round_trip() -> None:
    for text in ("&", "<>", "a &amp; b", "&lt;&gt;", "x > y < z"):
        assert unescape(escape(text)) == text


# ----------------------------------------------------------------- property


@settings(max_examples=400, deadline=None)
@given(slack_rich_text)
def test_parse_render_round_trip(rt: RichText) -> None:
    assert parse(render(rt)) == normalise(rt)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_never_raises_and_render_is_stable(source: str) -> None:
    rt = parse(source)
    # whatever we understood, rendering it and parsing again changes nothing more
    assert parse(render(rt)) == parse(render(parse(render(rt))))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("*_~`<>&:|@#!^ \nab;gtlmp")), max_size=60))
def test_parse_never_raises_on_markup_soup(source: str) -> None:
    parse(source)


def test_long_unbalanced_markers_stay_fast() -> None:
    source = "*a " * 20_000
    rt = parse(source)
    assert rt == (Text(source),)
