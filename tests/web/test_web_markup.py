from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.web.markup import parse, render
from bot.richtext import Code, CodeBlock, Emoji, LineBreak, Link, Mention, Quote, RichText, Styled, Text
from tests.strategies import web_rich_text

GOLDEN: list[tuple[str, RichText]] = [
    ("hello", (Text("hello"),)),
    (
        "**bold** and *it* _it2_",
        (
            Styled("bold", (Text("bold"),), "**"),
            Text(" and "),
            Styled("italic", (Text("it"),), "*"),
            Text(" "),
            Styled("italic", (Text("it2"),), "_"),
        ),
    ),
    (
        "~~gone~~ __u__ ||s||",
        (
            Styled("strike", (Text("gone"),), "~~"),
            Text(" "),
            Styled("underline", (Text("u"),), "__"),
            Text(" "),
            Styled("spoiler", (Text("s"),), "||"),
        ),
    ),
    (
        "see [the plan](https://x.org/p?a=1) or https://y.org/z.",
        (Text("see "), Link("https://x.org/p?a=1", "the plan"), Text(" or "), Link("https://y.org/z"), Text(".")),
    ),
    (
        "@here ask @maria.g :wave:",
        (Mention("broadcast", "here"), Text(" ask "), Mention("user", "maria.g", "maria.g"), Text(" "), Emoji("wave")),
    ),
    (
        "run `agora run`\n```sh\npip install .\n```",
        (Text("run "), Code("agora run"), LineBreak(), CodeBlock("pip install .", "sh")),
    ),
    ("> quoted *x*\nnext", (Quote((Text("quoted "), Styled("italic", (Text("x"),), "*"))), LineBreak(), Text("next"))),
    ("2 * 3 = 6, a_b, [x], bob@city.gov", (Text("2 * 3 = 6, a_b, [x], bob@city.gov"),)),
    ("\\*not bold\\*", (Text("*not bold*"),)),
    ("**unclosed", (Text("**unclosed"),)),
    ("```\nno close", (Text("```"), LineBreak(), Text("no close"))),
]


@pytest.mark.parametrize(("source", "expected"), GOLDEN)
def test_golden(source: str, expected: RichText) -> None:
    assert parse(source) == expected


@pytest.mark.parametrize(("source", "expected"), [g for g in GOLDEN if "\\" not in g[0] and g[0] != "```\nno close"])
def test_rendering_the_golden_parse_gives_back_the_source_where_it_was_canonical(
    source: str, expected: RichText
) -> None:
    assert parse(render(expected)) == expected


@settings(max_examples=400)
@given(web_rich_text)
def test_round_trip_is_lossless(rt: RichText) -> None:
    assert parse(render(rt)) == rt


@settings(max_examples=400)
@given(st.text(max_size=200))
def test_parse_never_fails_and_keeps_every_word(source: str) -> None:
    rt = parse(source)
    assert parse(render(rt)) == rt
