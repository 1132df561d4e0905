"""Slack ``rich_text`` blocks to and from the core's rich text.

Current Slack clients send every message twice: mrkdwn in ``text`` and the
truth in ``blocks``, where a ``rich_text`` block says exactly which words are
bold, italic, struck or code, which element is a mention, a link or an emoji,
and how lines group into lists, quotes and code blocks. mrkdwn cannot say all
of that (``*rich text *message`` is not bold in mrkdwn, although the blocks
say "rich text " is), so a message's blocks win when it has a ``rich_text``
block and its ``text`` is only the fallback.

Containers map onto lines: a section is inline text; a list item is one line
starting with "• " or "1. " (indented two spaces per level); a quote is quoted
lines; preformatted text is a code block. Unknown elements keep their words
when they have any and are dropped otherwise; nothing here raises on odd input.

:func:`render` goes the other way for outbound copies, so Slack shows the same
styles the source had (mrkdwn ``text`` still goes along as the notification
fallback).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
    normalise,
    to_plain,
)

# Nesting order of styles, outermost first; the marker is what Slack's mrkdwn uses.
_STYLES: tuple[tuple[Style, str], ...] = (("bold", "*"), ("italic", "_"), ("strike", "~"), ("underline", ""))
_SKIN_TONE = "::skin-tone-"
# Above this much block JSON a copy goes as mrkdwn only: Slack refuses block payloads of
# about 13,000 characters and more (msg_blocks_too_long, bolt-js#2509); text may be 40,000.
MAX_BLOCKS_JSON = 12_000


@dataclass(frozen=True, slots=True)
class _Item:
    """One inline segment and the styles the block gave it."""

    segment: Segment
    styles: frozenset[str] = frozenset()


# ------------------------------------------------------------------ parsing


def rich_text_blocks(blocks: Any) -> list[Mapping[str, Any]]:
    """The ``rich_text`` blocks of a message's ``blocks`` field (none for anything else)."""
    if not isinstance(blocks, list):
        return []
    return [b for b in blocks if isinstance(b, Mapping) and b.get("type") == "rich_text"]


def parse(blocks: Any) -> RichText | None:
    """Rich text from a message's blocks, or None when it has no ``rich_text`` block."""
    found = rich_text_blocks(blocks)
    if not found:
        return None
    out: list[Segment] = []
    for block in found:
        for container in _list(block.get("elements")):
            segments = _container(container)
            if not segments:
                continue
            if out and not isinstance(out[-1], LineBreak):
                out.append(LineBreak())
            out.extend(segments)
    while out and isinstance(out[-1], LineBreak):
        out.pop()
    return normalise(out)


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _container(container: Mapping[str, Any]) -> list[Segment]:
    kind = container.get("type")
    elements = _list(container.get("elements"))
    if kind == "rich_text_list":
        return _list_lines(container, elements)
    if kind == "rich_text_quote":
        lines = _split_lines(_inline(elements))
        out: list[Segment] = []
        for i, line in enumerate(lines):
            if i:
                out.append(LineBreak())
            out.append(Quote(normalise(line)))
        return out
    if kind == "rich_text_preformatted":
        return [CodeBlock(to_plain(_inline(elements, styled=False)))]
    return _inline(elements)  # rich_text_section and anything newer that holds inline elements


def _list_lines(container: Mapping[str, Any], items: list[Mapping[str, Any]]) -> list[Segment]:
    ordered = container.get("style") == "ordered"
    indent = _int(container.get("indent"), 10)
    start = _int(container.get("offset"), 100_000) + 1
    out: list[Segment] = []
    for number, item in enumerate(items, start):
        if out:
            out.append(LineBreak())
        bullet = f"{number}. " if ordered else "• "
        out.append(Text("  " * indent + bullet))
        inner = _inline(_list(item.get("elements"))) if item.get("type") == "rich_text_section" else _container(item)
        while inner and isinstance(inner[-1], LineBreak):
            inner.pop()
        out.extend(inner)
    return out


def _int(value: Any, limit: int) -> int:
    """A small non-negative integer field, 0 when absent or odd."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < limit else 0


def _inline(elements: Iterable[Mapping[str, Any]], *, styled: bool = True) -> list[Segment]:
    items: list[_Item] = []
    for element in elements:
        style = element.get("style") if styled else None
        styles = frozenset(k for k, v in style.items() if v is True) if isinstance(style, Mapping) else frozenset()
        for segment in _element(element, "code" in styles):
            items.append(_Item(segment, frozenset() if isinstance(segment, LineBreak) else styles))
    return _nest(items, _STYLES)


def _element(element: Mapping[str, Any], code: bool) -> list[Segment]:
    kind = element.get("type")
    if kind == "text":
        return _text(str(element.get("text") or ""), code)
    if kind == "link":
        url = str(element.get("url") or "")
        label = element.get("text")
        if not url:
            return _text(str(label or ""), code)
        return [Link(url, str(label) if label else None)]
    if kind == "user":
        return [Mention("user", str(element.get("user_id") or ""))]
    if kind == "channel":
        return [Mention("channel", str(element.get("channel_id") or ""))]
    if kind == "usergroup":
        return [Mention("group", str(element.get("usergroup_id") or ""))]
    if kind == "broadcast":
        return [Mention("broadcast", str(element.get("range") or "here"))]
    if kind == "emoji":
        return [_emoji(element)]
    if kind == "date":
        return [Text(_date(element))]
    if kind == "team":
        return [Text("@" + str(element.get("name") or "workspace"))]
    if kind == "color":
        return [Text(str(element.get("value") or ""))]
    words = element.get("text") or element.get("fallback")
    return _text(words, code) if isinstance(words, str) else []


def _text(text: str, code: bool) -> list[Segment]:
    out: list[Segment] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(LineBreak())
        if line:
            out.append(Code(line) if code else Text(line))
    return out


def _emoji(element: Mapping[str, Any]) -> Emoji:
    name = str(element.get("name") or "")
    tone = element.get("skin_tone")
    if isinstance(tone, int) and not isinstance(tone, bool) and 2 <= tone <= 6:
        name += f"{_SKIN_TONE}{tone}"
    return Emoji(name)


def _date(element: Mapping[str, Any]) -> str:
    fallback = element.get("fallback")
    if isinstance(fallback, str) and fallback:
        return fallback
    stamp = element.get("timestamp")
    if not isinstance(stamp, int | float | str):
        return ""
    try:
        return datetime.fromtimestamp(float(stamp), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _nest(items: list[_Item], order: Sequence[tuple[Style, str]]) -> list[Segment]:
    """Group runs sharing a style into Styled segments, outermost style first."""
    if not order:
        return [item.segment for item in items]
    (style, marker), rest = order[0], order[1:]
    out: list[Segment] = []
    for has_style, group in itertools.groupby(items, key=lambda item: style in item.styles):
        inner = _nest(list(group), rest)
        if has_style and any(not isinstance(seg, LineBreak) for seg in inner):
            out.append(Styled(style, normalise(inner), marker))
        else:
            out.extend(inner)
    return out


def _split_lines(segments: Sequence[Segment]) -> list[list[Segment]]:
    lines: list[list[Segment]] = [[]]
    for seg in segments:
        if isinstance(seg, LineBreak):
            lines.append([])
        else:
            lines[-1].append(seg)
    return lines


# ---------------------------------------------------------------- rendering


def render(rt: Sequence[Segment]) -> list[dict[str, Any]]:
    """One ``rich_text`` block for a copy (an empty list when there is nothing to show
    or too much for blocks, so the caller sends mrkdwn ``text`` alone).

    Top-level quote lines become one ``rich_text_quote``, each code block a
    ``rich_text_preformatted``, everything between them a ``rich_text_section``.
    Line breaks follow Slack's own encoding: one break between containers is
    implied, and a section's trailing breaks include it.
    """
    rt = normalise([seg for seg in rt if not (isinstance(seg, CodeBlock) and not seg.text)])
    if not rt or len(to_plain(rt)) > MAX_BLOCKS_JSON:
        return []
    containers: list[dict[str, Any]] = []
    kind = ""
    current: list[Segment] = []
    breaks = 0

    def close() -> None:
        if kind == "code":
            text = "".join(seg.text for seg in current if isinstance(seg, CodeBlock))
            if text:
                containers.append({"type": "rich_text_preformatted", "elements": [{"type": "text", "text": text}]})
        elif current:
            elements = _elements(current, frozenset())
            if elements:
                containers.append({"type": f"rich_text_{kind}", "elements": elements})
        current.clear()

    for seg in rt:
        if isinstance(seg, LineBreak):
            breaks += 1
            continue
        seg_kind = "quote" if isinstance(seg, Quote) else "code" if isinstance(seg, CodeBlock) else "section"
        body: list[Segment] = list(seg.children) if isinstance(seg, Quote) else [seg]
        if seg_kind == kind == "section":
            current.extend([*[LineBreak()] * breaks, *body])
        elif seg_kind == kind == "quote" and breaks == 1:
            current.extend([LineBreak(), *body])
        else:
            if kind == "section":
                current.extend([LineBreak()] * breaks)  # a section's trailing breaks are the boundary
            close()
            if kind not in ("", "section") and seg_kind != "section" and breaks > 1:
                blank = {"type": "text", "text": "\n" * (breaks - 1)}
                containers.append({"type": "rich_text_section", "elements": [blank]})
            lead: list[Segment] = []
            if seg_kind == "section":
                lead = [LineBreak()] * (breaks - 1 if kind else breaks)
            kind = seg_kind
            current.extend(lead + body)
        breaks = 0
    close()
    found = [{"type": "rich_text", "elements": containers}] if containers else []
    if len(json.dumps(found, ensure_ascii=False)) > MAX_BLOCKS_JSON:
        return []
    return found


def _elements(segments: Iterable[Segment], styles: frozenset[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for seg in segments:
        match seg:
            case Text(text=t):
                _add_text(out, t, styles)
            case LineBreak():
                _add_text(out, "\n", frozenset())
            case Code(text=t):
                _add_text(out, t, styles | {"code"})
            case CodeBlock(text=t):
                _add_text(out, t, styles | {"code"})
            case Link(url=url, label=label):
                link: dict[str, Any] = {"type": "link", "url": url}
                if label:
                    link["text"] = label
                out.append(_styled(link, styles))
            case Emoji(name=name, id=ident):
                if ident:  # a Discord custom emoji has no Slack equivalent: keep its name
                    _add_text(out, f":{name}:", styles)
                else:
                    base, _, tone = name.partition(_SKIN_TONE)
                    emoji: dict[str, Any] = {"type": "emoji", "name": base}
                    if tone.isdigit():
                        emoji["skin_tone"] = int(tone)
                    out.append(_styled(emoji, styles))
            case Mention(kind=kind, id=ident, label=label):
                out.append(_styled(_mention(kind, ident, label), styles))
            case Styled(style=style, children=children):
                out.extend(_elements(children, styles | {style} if style != "spoiler" else styles))
            case Quote(children=children):
                out.extend(_elements(children, styles))
    return out


def _mention(kind: str, ident: str, label: str) -> dict[str, Any]:
    if kind == "user":
        return {"type": "user", "user_id": ident}
    if kind == "channel":
        return {"type": "channel", "channel_id": ident}
    if kind == "group":
        return {"type": "usergroup", "usergroup_id": ident}
    return {"type": "broadcast", "range": ident}


def _add_text(out: list[dict[str, Any]], text: str, styles: frozenset[str]) -> None:
    if not text:
        return
    last = out[-1] if out else None
    if last is not None and last.get("type") == "text" and _style_set(last) == styles:
        last["text"] += text
        return
    out.append(_styled({"type": "text", "text": text}, styles))


def _styled(element: dict[str, Any], styles: frozenset[str]) -> dict[str, Any]:
    if styles:
        element["style"] = {s: True for s in sorted(styles)}
    return element


def _style_set(element: Mapping[str, Any]) -> frozenset[str]:
    style = element.get("style")
    return frozenset(style) if isinstance(style, Mapping) else frozenset()
