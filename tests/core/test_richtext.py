from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.richtext import (
    CodeBlock,
    Emoji,
    LineBreak,
    Link,
    Mention,
    RichText,
    Text,
    from_json,
    neutralise,
    plain,
    protected,
    split,
    to_json,
    to_plain,
)
from tests.strategies import any_rich_text


@given(any_rich_text)
def test_json_round_trip(rt: RichText) -> None:
    assert from_json(to_json(rt)) == rt


@given(any_rich_text)
def test_neutralise_leaves_no_mention_and_keeps_everything_else(rt: RichText) -> None:
    out = neutralise(rt)
    assert not any(isinstance(s, Mention) for s in protected(out))
    assert [s for s in protected(out)] == [s for s in protected(rt) if not isinstance(s, Mention)]


@settings(max_examples=300)
@given(any_rich_text, st.integers(min_value=8, max_value=300))
def test_split_respects_the_limit_and_loses_no_words(rt: RichText, limit: int) -> None:
    parts = split(rt, limit)
    for part in parts:
        # Only an atom nothing can cut (a URL, an emoji, a mention) may exceed it, alone.
        if len(to_plain(part)) > limit:
            assert len(part) == 1 and isinstance(part[0], Link | Emoji | Mention), part
    joined = "".join(to_plain(p) for p in parts)

    def letters(text: str) -> str:  # a quote cut in two shows its "> " on each part
        return "".join(text.replace(">", "").split())

    assert letters(joined) == letters(to_plain(rt))


def test_split_prefers_paragraphs_then_sentences_and_keeps_code_blocks_whole() -> None:
    para1 = "First paragraph. It has two sentences."
    para2 = "Second one is here. And more."
    code = CodeBlock("a = 1\nb = 2", "py")
    rt = (*plain(para1), LineBreak(), LineBreak(), code, LineBreak(), LineBreak(), *plain(para2))
    parts = split(rt, 45)
    assert parts[0] == (Text(para1),)
    assert [s for p in parts for s in p if isinstance(s, CodeBlock)] == [code]
    assert parts[1][:3] == (code, LineBreak(), LineBreak())


def test_a_code_block_over_the_limit_is_cut_at_line_ends_into_fenced_blocks() -> None:
    code = CodeBlock("\n".join(f"line {i}" for i in range(40)), "sql")
    parts = split((code,), 60)
    assert all(len(p) == 1 and isinstance(p[0], CodeBlock) and p[0].lang == "sql" for p in parts)
    assert "\n".join(p[0].text for p in parts if isinstance(p[0], CodeBlock)).replace("\n", "") == code.text.replace(
        "\n", ""
    )
