"""Discord markdown <-> rich text: golden cases both ways, and properties over generated text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.markup import normalise, parse, render, with_labels
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
    Style,
    Styled,
    Text,
    neutralise,
    split,
    to_plain,
)

B: Style = "bold"
IT: Style = "italic"
U: Style = "underline"
S: Style = "strike"
SP: Style = "spoiler"

PARSE_CASES: list[tuple[str, RichText]] = [
    ("plain words", (Text("plain words"),)),
    ("**bold**", (Styled(B, (Text("bold"),)),)),
    ("*it* and _it_", (Styled(IT, (Text("it"),), "*"), Text(" and "), Styled(IT, (Text("it"),), "_"))),
    (
        "__under__ ~~gone~~ ||secret||",
        (
            Styled(U, (Text("under"),)),
            Text(" "),
            Styled(S, (Text("gone"),)),
            Text(" "),
            Styled(SP, (Text("secret"),)),
        ),
    ),
    ("***both***", (Styled(B, (Styled(IT, (Text("both"),), "*"),)),)),
    ("*a **b** c*", (Styled(IT, (Text("a "), Styled(B, (Text("b"),)), Text(" c")), "*"),)),
    ("snake_case_name", (Text("snake_case_name"),)),
    ("2 * 3 * 4", (Text("2 * 3 * 4"),)),
    ("* not italic*", (Text("* not italic*"),)),
    ("**unclosed", (Text("**unclosed"),)),
    ("**a\nb**", (Text("**a"), LineBreak(), Text("b**"))),
    ("<@123> <@!45>", (Mention("user", "123"), Text(" "), Mention("user", "45"))),
    ("<@&6> <#7>", (Mention("group", "6"), Text(" "), Mention("channel", "7"))),
    ("@everyone and @here", (Mention("broadcast", "everyone"), Text(" and "), Mention("broadcast", "here"))),
    ("<:party:999> <a:dance:42>", (Emoji("party", "999"), Text(" "), Emoji("dance", "42"))),
    (":smile: at 10:30:45", (Emoji("smile"), Text(" at 10:30:45"))),
    (":+1:", (Emoji("+1"),)),
    ("[the plan](https://city.gov/plan)", (Link("https://city.gov/plan", "the plan"),)),
    ("[**bold** label](<https://x.org/a_(b)>)", (Link("https://x.org/a_(b)", "bold label"),)),
    ("see https://city.gov/a_b_c.", (Text("see "), Link("https://city.gov/a_b_c"), Text("."))),
    ("(https://city.gov/x)", (Text("("), Link("https://city.gov/x"), Text(")"))),
    ("<https://city.gov/quiet>", (Link("https://city.gov/quiet"),)),
    ("_https://x.org/a_b_", (Text("_"), Link("https://x.org/a_b_"))),
    ("`code *here*`", (Code("code *here*"),)),
    ("`` a`b ``", (Code("a`b"),)),
    ("`unclosed", (Text("`unclosed"),)),
    ("```py\nprint(1)\n```", (CodeBlock("print(1)", "py"),)),
    ("```\nline one\nline two\n```", (CodeBlock("line one\nline two"),)),
    ("```inline```", (CodeBlock("inline"),)),
    ("> quoted\nnot quoted", (Quote((Text("quoted"),)), LineBreak(), Text("not quoted"))),
    (">>> all\nof it", (Quote((Text("all"),)), LineBreak(), Quote((Text("of it"),)))),
    (">not a quote", (Text(">not a quote"),)),
    ("# Heading\n## Sub", (Styled(B, (Text("Heading"),)), LineBreak(), Styled(B, (Text("Sub"),)))),
    ("-# small print", (Text("small print"),)),
    ("#hashtag", (Text("#hashtag"),)),
    (r"\*not\* \_em\_ \<@1> \@here", (Text("*not* _em_ <@1> @here"),)),
    (r"a\b \\", (Text("a\\b \\"),)),
    ("a\u200bb", (Text("ab"),)),
    ("</agora status:123>", (Text("/agora status"),)),
    ("<t:1700000000:R>", (Text("2023-11-14 22:13 UTC"),)),
    ("line\n\npara", (Text("line"), LineBreak(), LineBreak(), Text("para"))),
    ("¿Dónde está? ação — naïve 😀", (Text("¿Dónde está? ação — naïve 😀"),)),
]


@pytest.mark.parametrize(("source", "expected"), PARSE_CASES)
def test_parse_golden(source: str, expected: RichText) -> None:
    assert parse(source) == expected


RENDER_CASES: list[tuple[RichText, str]] = [
    ((Text("plain"),), "plain"),
    ((Text("2*3 and a_b ~x~ |y| `z` <w> [v] \\"),), r"2\*3 and a\_b \~x\~ \|y\| \`z\` \<w> \[v] \\"),
    ((Text("Note: 10:30 :smile: http://x"),), r"Note: 10:30 \:smile: http\://x"),
    ((Text("> not a quote"),), r"\> not a quote"),
    ((Text("# not a heading"), LineBreak(), Text("-# nor subtext")), "\\# not a heading\n\\-# nor subtext"),
    ((Text("@everyone, @here, a@b"),), r"\@everyone, \@here, a@b"),
    ((Mention("broadcast", "channel"),), "@everyone"),
    ((Mention("user", "U024BE7LH", "Ana"),), r"@Ana"),
    ((Mention("user", "42", "Ana"), Text(" "), Mention("channel", "7")), "<@42> <#7>"),
    ((Link("https://x.org"),), "https://x.org"),
    ((Link("https://x.org", "https://x.org"),), "https://x.org"),
    ((Link("https://x.org/a"), Text("b")), "<https://x.org/a>b"),
    ((Link("https://x.org/a_(b)", "wiki"),), "[wiki](<https://x.org/a_(b)>)"),
    ((Link("https://x.org", "a [b] c"),), r"[a \[b\] c](https://x.org)"),
    ((Link("mailto:ana@city.gov", "mail Ana"),), "mail Ana (mailto:ana@city.gov)"),
    ((Emoji("party", "99"), Emoji("smile")), "<:party:99>:smile:"),
    ((Emoji("no such"),), ":no such:"),
    ((Code("a``b"),), "`` a`\u200b`b ``"),
    ((CodeBlock("\nx = 1\n", "python"),), "```python\nx = 1\n```"),
    ((Styled(B, (Text("a"),)), Styled(IT, (Text("b"),), "*")), "**a**\u200b*b*"),
    ((Styled(IT, (Text("b"),), "_"), Text("c")), "_b_\u200bc"),
    ((Styled(IT, (Text(" spaced "),), "*"),), "*\u200b spaced \u200b*"),
    ((Styled(B, (Styled(B, (Text("x"),)),)),), "**x**"),
    ((Styled(B, (Text("a"),)), Styled(B, (Text("b"),))), "**ab**"),
    ((Styled(B, (Text("one"), LineBreak(), Text("two"))),), "**one**\n**two**"),
    ((Text("before"), Quote((Text("q"),)), Text("after")), "before\n> q\nafter"),
    ((Quote((Text("a"), LineBreak(), Text("b"))),), "> a\n> b"),
    ((Quote((Quote((Text("deep"),)),)),), "> deep"),
    ((Quote((CodeBlock("x\ny"),)),), "> `x y`"),
    ((Text("a\u200bb"),), "a\\\u200bb"),
]


@pytest.mark.parametrize(("rich", "expected"), RENDER_CASES)
def test_render_golden(rich: RichText, expected: str) -> None:
    assert render(rich) == expected


def test_relayed_mentions_ping_nobody_once_neutralised() -> None:
    text = neutralise(parse("@everyone look <@42> in <#7>"))
    assert render(text) == r"\@everyone look @42 in #7"
    assert not any(isinstance(seg, Mention) for seg in parse(render(text)))


def test_with_labels_names_mentions_deeply() -> None:
    rt = parse("hi <@42>, **<@&7>** > x")
    named = with_labels(rt, {("user", "42"): "Ana", ("group", "7"): "staff"})
    assert named[1] == Mention("user", "42", "Ana")
    assert named[3] == Styled(B, (Mention("group", "7", "staff"),))
    assert render(neutralise(named)).startswith("hi @Ana, **@staff**")


def test_render_length_is_what_split_measures() -> None:
    long = (Text("word " * 900),)
    parts = split(long, 2000, measure=lambda r: len(render(r)))
    assert len(parts) == 3
    assert all(len(render(p)) <= 2000 for p in parts)


def test_pathological_markers_parse_quickly() -> None:
    # Every opener fails to close: the memo of missing closers keeps this linear-ish.
    nasty = "*a _b ~~c ||d __e " * 250
    assert to_plain(parse(nasty)).count("d") == 250


# ------------------------------------------------------------ properties

_CHARS = st.sampled_from([*"ab Zé9 *_~|`<>[]():@#-\\\u200b/.!?h", "http", "://", "everyone", "here", "\n"])
_TEXT = st.lists(_CHARS, min_size=1, max_size=8).map("".join)
_WORD = st.text("abcXYZ019_+-", min_size=1, max_size=6)
_ID = st.one_of(st.integers(1, 10**19).map(str), st.sampled_from(["U024BE7LH", "here", "channel", "everyone", "x y"]))
_URL_TAIL = st.text("abc/._-()~*?=&%#:>", min_size=0, max_size=10)
_URL = st.builds(lambda scheme, tail: f"{scheme}://x.org{tail}", st.sampled_from(["http", "https", "ftp"]), _URL_TAIL)


def _segments(children: st.SearchStrategy[RichText]) -> st.SearchStrategy[Segment]:
    leaf: st.SearchStrategy[Segment] = st.one_of(
        _TEXT.map(Text),
        st.builds(Mention, st.sampled_from(["user", "channel", "group", "broadcast"]), _ID, st.sampled_from(["", "A"])),
        st.builds(Link, _URL, st.one_of(st.none(), _TEXT)),
        st.builds(Emoji, _WORD, st.one_of(st.none(), st.integers(1, 10**6).map(str))),
        _TEXT.map(Code),
        st.builds(CodeBlock, _TEXT, st.sampled_from(["", "py", "c++", "bad lang"])),
        st.just(LineBreak()),
    )
    return st.one_of(
        leaf,
        st.builds(Styled, st.sampled_from([B, IT, U, S, SP]), children, st.sampled_from(["", "*", "_"])),
        children.map(Quote),
    )


_RICH: st.SearchStrategy[RichText] = st.recursive(
    st.lists(st.just(Text("x")), max_size=1).map(tuple),
    lambda children: st.lists(_segments(children), max_size=5).map(tuple),
    max_leaves=14,
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_RICH)
def test_parse_of_render_is_the_normal_form(rt: RichText) -> None:
    assert parse(render(rt)) == normalise(rt)


@settings(max_examples=300, deadline=None)
@given(_RICH)
def test_normalise_is_idempotent_and_render_is_stable(rt: RichText) -> None:
    once = normalise(rt)
    assert normalise(once) == once
    assert render(parse(render(rt))) == render(rt)


@settings(max_examples=800, deadline=None)
@given(st.text(max_size=60) | st.lists(_CHARS, max_size=30).map("".join))
def test_parse_never_raises_and_is_normal(text: str) -> None:
    rt = parse(text)
    assert normalise(rt) == rt
    assert parse(render(rt)) == rt
