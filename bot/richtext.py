"""The core's message text: a tuple of segments.

Every adapter parses its platform's markup into these segments and renders them
back, so Slack mrkdwn, Discord markdown and the web page's markup meet in one
form. Translation sees only :class:`Text` segments and link labels; mentions,
links, emoji and code never reach an engine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias

MentionKind = Literal["user", "channel", "group", "broadcast"]
Style = Literal["bold", "italic", "strike", "underline", "spoiler"]


@dataclass(frozen=True, slots=True)
class Text:
    """Words a person wrote: the only thing translation changes."""

    text: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A user, channel or group mention, or a broadcast (``id`` here/channel/everyone)."""

    kind: MentionKind
    id: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    """A URL, optionally with a label (the label is translated)."""

    url: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Emoji:
    """An emoji shortcode; ``id`` is set for Discord custom emoji."""

    name: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Code:
    """Inline code, never translated."""

    text: str


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced code block, never translated and never split unless it alone is too long."""

    text: str
    lang: str = ""


@dataclass(frozen=True, slots=True)
class Styled:
    """Bold, italic, strike, underline or spoiler around other segments.

    ``marker`` remembers the source syntax (``*`` or ``_``) so a parser and its
    renderer can round-trip a message exactly; renderers of other platforms
    ignore it.
    """

    style: Style
    children: RichText
    marker: str = ""


@dataclass(frozen=True, slots=True)
class Quote:
    """A block quote line."""

    children: RichText


@dataclass(frozen=True, slots=True)
class LineBreak:
    """A line break; two in a row end a paragraph."""


Segment: TypeAlias = Text | Mention | Link | Emoji | Code | CodeBlock | Styled | Quote | LineBreak
RichText: TypeAlias = tuple[Segment, ...]

BROADCASTS = ("here", "channel", "everyone")


def plain(text: str) -> RichText:
    """Rich text for a plain string: text with its line breaks."""
    out: list[Segment] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(LineBreak())
        if line:
            out.append(Text(line))
    return tuple(out)


def normalise(rt: Sequence[Segment]) -> RichText:
    """Merge adjacent text segments and drop empty ones, recursively."""
    out: list[Segment] = []
    for seg in rt:
        if isinstance(seg, Text):
            if not seg.text:
                continue
            if out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + seg.text)
                continue
        elif isinstance(seg, Styled):
            seg = replace(seg, children=normalise(seg.children))
        elif isinstance(seg, Quote):
            seg = Quote(normalise(seg.children))
        out.append(seg)
    return tuple(out)


def to_plain(rt: Sequence[Segment]) -> str:
    """Readable plain text: for tagging, search, language detection and logs at DEBUG."""
    parts: list[str] = []
    for seg in rt:
        match seg:
            case Text(text=t):
                parts.append(t)
            case Mention(kind=kind, id=ident, label=label):
                prefix = "#" if kind == "channel" else "@"
                parts.append(prefix + (label or ident))
            case Link(url=url, label=label):
                parts.append(label or url)
            case Emoji(name=name):
                parts.append(f":{name}:")
            case Code(text=t):
                parts.append(t)
            case CodeBlock(text=t):
                parts.append(t)
            case Styled(children=children):
                parts.append(to_plain(children))
            case Quote(children=children):
                parts.append("> " + to_plain(children))
            case LineBreak():
                parts.append("\n")
    return "".join(parts)


def neutralise(rt: Sequence[Segment]) -> RichText:
    """Turn every mention into plain text so a relayed copy pings nobody.

    User and group mentions become ``@Name``, broadcasts ``@here``; the text is
    kept so readers still see who was addressed.
    """
    out: list[Segment] = []
    for seg in rt:
        if isinstance(seg, Mention):
            prefix = "#" if seg.kind == "channel" else "@"
            out.append(Text(prefix + (seg.label or seg.id)))
        elif isinstance(seg, Styled):
            out.append(replace(seg, children=neutralise(seg.children)))
        elif isinstance(seg, Quote):
            out.append(Quote(neutralise(seg.children)))
        else:
            out.append(seg)
    return normalise(out)


def map_segments(rt: Sequence[Segment], fn: Callable[[Segment], Segment]) -> RichText:
    """Apply ``fn`` to every segment inside styles and quotes, keeping the structure around them."""
    out: list[Segment] = []
    for seg in rt:
        if isinstance(seg, Styled):
            out.append(replace(seg, children=map_segments(seg.children, fn)))
        elif isinstance(seg, Quote):
            out.append(Quote(map_segments(seg.children, fn)))
        else:
            out.append(fn(seg))
    return tuple(out)


def map_text(rt: Sequence[Segment], fn: Callable[[str], str]) -> RichText:
    """Apply ``fn`` to every text segment and link label, keeping everything else."""

    def one(seg: Segment) -> Segment:
        if isinstance(seg, Text):
            return Text(fn(seg.text))
        if isinstance(seg, Link) and seg.label:
            return Link(seg.url, fn(seg.label))
        return seg

    return map_segments(rt, one)


def protected(rt: Sequence[Segment]) -> Iterator[Segment]:
    """Yield, in order, every segment translation must leave untouched."""
    for seg in rt:
        if isinstance(seg, Styled | Quote):
            yield from protected(seg.children)
        elif not isinstance(seg, Text | LineBreak):
            yield seg


def clean_text(text: str) -> str:
    """Text safe to store and relay: lone surrogates become U+FFFD, control characters
    other than tab and line break are dropped (platforms and SQLite refuse them)."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            out.append("\ufffd")
        elif ch in "\n\t" or unicodedata.category(ch) != "Cc":
            out.append(ch)
    return "".join(out)


def clean(rt: Sequence[Segment]) -> RichText:
    """:func:`clean_text` on every string a segment holds."""
    out: list[Segment] = []
    for seg in rt:
        match seg:
            case Text(text=t):
                out.append(Text(clean_text(t)))
            case Mention(kind=k, id=i, label=label):
                out.append(Mention(k, clean_text(i), clean_text(label)))
            case Link(url=u, label=label):
                out.append(Link(clean_text(u), clean_text(label) if label is not None else None))
            case Emoji(name=n, id=i):
                out.append(Emoji(clean_text(n), clean_text(i) if i is not None else None))
            case Code(text=t):
                out.append(Code(clean_text(t)))
            case CodeBlock(text=t, lang=lang):
                out.append(CodeBlock(clean_text(t), clean_text(lang)))
            case Styled(children=c):
                out.append(replace(seg, children=clean(c)))
            case Quote(children=c):
                out.append(Quote(clean(c)))
            case LineBreak():
                out.append(seg)
    return normalise(out)


def is_blank(rt: Sequence[Segment]) -> bool:
    """True when the text has nothing but whitespace, line breaks and invisible characters."""
    return not strip_invisible(to_plain(rt)).strip()


# Invisible characters that are not format controls (category Cf) but print as nothing.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180e")


def strip_invisible(text: str) -> str:
    """``text`` without bidi overrides, zero-width and other invisible characters.

    For names and glossary terms, where they only serve to make one thing look
    like another ("Admin\u202e" or a term that never matches), and to judge
    whether a message says anything at all.
    """
    if text.isascii():
        return text
    return "".join(ch for ch in text if ch not in _BLANK_LETTERS and unicodedata.category(ch) != "Cf")


# ---------------------------------------------------------------- splitting

Measure = Callable[[RichText], int]
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+")
_WORD_END = re.compile(r"(?<=\s)(?=\S)")


def split(rt: RichText, limit: int, measure: Measure | None = None) -> list[RichText]:
    """Split text into parts that each measure at most ``limit``.

    Cuts fall at paragraph breaks first, then line breaks, sentence ends and
    word gaps; code blocks stay whole unless one alone is over the limit, when
    it is cut at line ends into several fenced blocks. ``measure`` is the
    platform's rendered length (defaults to the plain-text length).
    """
    if limit < 8:
        raise ValueError("limit must be at least 8")
    size = measure or (lambda r: len(to_plain(r)))
    rt = normalise(rt)
    if size(rt) <= limit:
        return [rt] if rt else []
    return [part for part in _pack(rt, limit, size, 0) if not is_blank(part)]


def _pack(rt: RichText, limit: int, size: Measure, level: int) -> list[RichText]:
    out: list[RichText] = []
    current: RichText = ()
    for piece in _cut(rt, level, limit):
        candidate = _glue(current, piece)
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            out.append(_trim(current))
            current = ()
        if size(piece) <= limit or level >= 4:
            current = normalise(piece)
            if size(current) > limit:  # an atom nothing can cut (a huge URL): send it alone
                out.append(current)
                current = ()
        else:
            parts = _pack(piece, limit, size, level + 1)
            out.extend(parts[:-1])
            current = parts[-1] if parts else ()
    if current:
        out.append(_trim(current))
    return out


def _glue(left: RichText, right: RichText) -> RichText:
    """Concatenate, rejoining the line groups of a code block cut at level 3."""
    if left and right and isinstance(left[-1], CodeBlock) and isinstance(right[0], CodeBlock):
        a, b = left[-1], right[0]
        if a.lang == b.lang:
            sep = "\n" if a.text and b.text else ""
            return normalise((*left[:-1], CodeBlock(a.text + sep + b.text, a.lang), *right[1:]))
    return normalise(left + right)


def _cut(rt: RichText, level: int, limit: int) -> list[RichText]:
    """Cut into pieces whose concatenation is ``rt``, finer at each level."""
    if level <= 1:
        # level 0: paragraphs (cut after a run of 2+ breaks); level 1: lines.
        need = 2 if level == 0 else 1
        pieces: list[RichText] = []
        current: list[Segment] = []
        run = 0
        for seg in rt:
            if isinstance(seg, LineBreak):
                run += 1
                current.append(seg)
                continue
            if run >= need and current:
                pieces.append(tuple(current))
                current = []
            run = 0
            current.append(seg)
        if current:
            pieces.append(tuple(current))
        return pieces
    pieces = []
    for seg in rt:
        pieces.extend(_cut_segment(seg, level, max(1, limit // 4)))
    return pieces


def _cut_segment(seg: Segment, level: int, size: int) -> list[RichText]:
    if isinstance(seg, Text):
        if level == 2:
            return [(Text(s),) for s in _split_keep(_SENTENCE_END, seg.text)]
        if level == 3:
            return [(Text(s),) for s in _split_keep(_WORD_END, seg.text)]
        return [(Text(seg.text[i : i + size]),) for i in range(0, len(seg.text), size)]
    if isinstance(seg, CodeBlock) and level >= 3:
        lines = seg.text.split("\n")
        if level == 3 and len(lines) > 1:
            return [(CodeBlock(line, seg.lang),) for line in lines]
        # Near-limit chunks, so no two are ever glued back with a line break between them.
        chunk = max(1, size * 4 - 16 - len(seg.lang))
        return [(CodeBlock(seg.text[i : i + chunk], seg.lang),) for i in range(0, len(seg.text), chunk)]
    if isinstance(seg, Code) and level >= 4:
        return [(Code(seg.text[i : i + size]),) for i in range(0, len(seg.text), size)]
    if isinstance(seg, Styled) and level >= 3:
        return [(replace(seg, children=p),) for p in _cut(seg.children, level, size * 4)]
    if isinstance(seg, Quote) and level >= 3:
        return [(Quote(p),) for p in _cut(seg.children, level, size * 4)]
    return [(seg,)]


def _split_keep(pattern: re.Pattern[str], text: str) -> list[str]:
    """Split at the ends of matches, keeping the separators attached."""
    out: list[str] = []
    start = 0
    for m in pattern.finditer(text):
        if m.end() > start:
            out.append(text[start : m.end()])
            start = m.end()
    out.append(text[start:])
    return [s for s in out if s]


def _trim(rt: RichText) -> RichText:
    """Drop line breaks and spaces left at a cut."""
    segs = list(rt)
    while segs and isinstance(segs[-1], LineBreak):
        segs.pop()
    while segs and isinstance(segs[0], LineBreak):
        segs.pop(0)
    if segs and isinstance(segs[-1], Text):
        segs[-1] = Text(segs[-1].text.rstrip())
    if segs and isinstance(segs[0], Text):
        segs[0] = Text(segs[0].text.lstrip())
    return normalise(segs)


# ------------------------------------------------------------- serialising


def to_json(rt: Sequence[Segment]) -> list[dict[str, Any]]:
    """A JSON-ready list, for the store."""
    out: list[dict[str, Any]] = []
    for seg in rt:
        match seg:
            case Text(text=t):
                out.append({"t": "text", "text": t})
            case Mention(kind=k, id=i, label=label):
                out.append({"t": "mention", "kind": k, "id": i, "label": label})
            case Link(url=u, label=label):
                out.append({"t": "link", "url": u, "label": label})
            case Emoji(name=n, id=i):
                out.append({"t": "emoji", "name": n, "id": i})
            case Code(text=t):
                out.append({"t": "code", "text": t})
            case CodeBlock(text=t, lang=lang):
                out.append({"t": "codeblock", "text": t, "lang": lang})
            case Styled(style=s, children=c, marker=m):
                out.append({"t": "styled", "style": s, "children": to_json(c), "marker": m})
            case Quote(children=c):
                out.append({"t": "quote", "children": to_json(c)})
            case LineBreak():
                out.append({"t": "br"})
    return out


def from_json(data: Sequence[dict[str, Any]]) -> RichText:
    """The inverse of :func:`to_json`; unknown segment types raise ValueError."""
    out: list[Segment] = []
    for d in data:
        kind = d.get("t")
        if kind == "text":
            out.append(Text(d["text"]))
        elif kind == "mention":
            out.append(Mention(d["kind"], d["id"], d.get("label", "")))
        elif kind == "link":
            out.append(Link(d["url"], d.get("label")))
        elif kind == "emoji":
            out.append(Emoji(d["name"], d.get("id")))
        elif kind == "code":
            out.append(Code(d["text"]))
        elif kind == "codeblock":
            out.append(CodeBlock(d["text"], d.get("lang", "")))
        elif kind == "styled":
            out.append(Styled(d["style"], from_json(d["children"]), d.get("marker", "")))
        elif kind == "quote":
            out.append(Quote(from_json(d["children"])))
        elif kind == "br":
            out.append(LineBreak())
        else:
            raise ValueError(f"unknown segment type {kind!r}")
    return tuple(out)
