"""rich_text blocks: parse(render(rt)) gives rt back for what Slack's blocks can hold, and parsing never raises."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import blocks
from bot.richtext import CodeBlock, LineBreak, Mention, Quote, RichText, Segment, Styled, normalise, to_plain
from tests.strategies import slack_rich_text


def unlabelled(rt: RichText) -> RichText:
    """Blocks carry mention ids, not labels (labels come from the names lookup)."""
    out: list[Segment] = []
    for seg in rt:
        if isinstance(seg, Mention):
            seg = Mention(seg.kind, seg.id)
        elif isinstance(seg, Styled):
            seg = replace(seg, children=unlabelled(seg.children))
        elif isinstance(seg, Quote):
            seg = Quote(unlabelled(seg.children))
        elif isinstance(seg, CodeBlock) and not seg.text:
            continue  # an empty code block shows nothing in Slack either
        out.append(seg)
    while out and isinstance(out[-1], LineBreak):  # blank lines at either end show nothing
        out.pop()
    while out and isinstance(out[0], LineBreak):
        out.pop(0)
    return normalise(out)


@settings(max_examples=400, deadline=None)
@given(slack_rich_text)
def test_render_parse_round_trip(rt: RichText) -> None:
    rendered = blocks.render(rt)
    back = blocks.parse(rendered) if rendered else ()
    assert unlabelled(back or ()) == unlabelled(rt)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["type", "elements", "text", "style", "url", "user_id", "name", "range", "indent", "offset"]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
ELEMENT_TYPES = st.sampled_from(
    ["text", "link", "user", "channel", "usergroup", "broadcast", "emoji", "date", "team", "color", "x"]
)
CONTAINER_TYPES = st.sampled_from(
    ["rich_text_section", "rich_text_list", "rich_text_quote", "rich_text_preformatted", "other"]
)


@st.composite
def odd_blocks(draw: st.DrawFn) -> list[Any]:
    def element() -> dict[str, Any]:
        e: dict[str, Any] = draw(st.dictionaries(st.sampled_from(["text", "url", "style", "skin_tone"]), JSONISH))
        e["type"] = draw(ELEMENT_TYPES)
        return e

    containers = []
    for _ in range(draw(st.integers(0, 3))):
        containers.append(
            {"type": draw(CONTAINER_TYPES), "elements": [element() for _ in range(draw(st.integers(0, 3)))]}
        )
    return [{"type": "rich_text", "elements": containers}, draw(JSONISH)]


@settings(max_examples=300, deadline=None)
@given(odd_blocks())
def test_parse_never_raises_on_odd_blocks(value: list[Any]) -> None:
    blocks.parse(value)


def test_ordered_list_continues_from_its_offset() -> None:
    items = [{"type": "rich_text_section", "elements": [{"type": "text", "text": t}]} for t in ("d", "e")]
    value = [
        {
            "type": "rich_text",
            "elements": [{"type": "rich_text_list", "style": "ordered", "indent": 1, "offset": 3, "elements": items}],
        }
    ]
    assert to_plain(blocks.parse(value) or ()) == "  4. d\n  5. e"
