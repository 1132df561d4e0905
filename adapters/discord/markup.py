"""Discord markdown to and from the core's rich text.

This is the only place that knows Discord's markup. The parser follows the
rules of Discord's client (simple-markdown): ``**bold**``, ``*italic*`` and
``_italic_``, ``__underline__``, ``~~strike~~``, ``||spoiler||``, inline and
fenced code, ``> `` and ``>>> `` quotes, ``<@id>``/``<@!id>``/``<@&role>``/
``<#channel>`` mentions, ``@everyone``/``@here``, ``<:name:id>`` custom emoji,
``:shortcodes:``, ``[label](url)`` and bare or ``<bracketed>`` links, and
backslash escapes of any ASCII punctuation. Emphasis closes lazily on the first
valid closer, as Discord's regular expressions do; code, links, mentions and
escapes are atoms a closer is never looked for inside. Headings (``# x``)
arrive as bold and subtext (``-# x``) as plain text.

Discord cannot express every rich text: two markers that touch (``**a**`` then
``*b*``) would read as one run, italic with ``*`` cannot start or end with a
space, an underscore closer needs a non-word character after it. The renderer
puts an unescaped zero-width space between such markers; the parser drops
every unescaped zero-width space (a literal one is sent escaped), so the
separator never reaches the core. What Discord cannot show at all (nested
quotes, styles across lines, mention labels, ids that are not snowflakes) is
settled by :func:`normalise`, and ``parse(render(rt)) == normalise(rt)`` holds
for every rich text. :func:`parse` never raises.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

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
    map_segments,
)
from bot.richtext import normalise as merge_text

ZWSP = "\u200b"
MAX_DEPTH = 8

_STYLE_OF: dict[str, Style] = {
    "**": "bold",
    "__": "underline",
    "~~": "strike",
    "||": "spoiler",
    "*": "italic",
    "_": "italic",
}
_DELIMS_AT: dict[str, tuple[str, ...]] = {"*": ("**", "*"), "_": ("__", "_"), "~": ("~~",), "|": ("||",)}
_MARK_OF: dict[str, str] = {"bold": "**", "underline": "__", "strike": "~~", "spoiler": "||"}
_ALWAYS_ESCAPED = frozenset("\\*_~`|<[" + ZWSP)
_FAMILIES = frozenset("*_~|`")

_CODE_BLOCK = re.compile(r"```(?:([A-Za-z0-9_+\-.#]+?)\n)?\n*([^\n][\s\S]*?)\n*```")
_LANG = re.compile(r"[A-Za-z0-9_+\-.#]+")
_USER = re.compile(r"<@!?(\d{1,20})>")
_ROLE = re.compile(r"<@&(\d{1,20})>")
_CHANNEL = re.compile(r"<#(\d{1,20})>")
_CUSTOM_EMOJI = re.compile(r"<a?:([A-Za-z0-9_]{2,32}):(\d{1,20})>")
_ANGLE_URL = re.compile(r"<(https?://[^\s>]+)>")
_SLASH = re.compile(r"</([A-Za-z0-9_\- ]{1,100}):\d{1,20}>")
_TIMESTAMP = re.compile(r"<t:(-?\d{1,13})(?::[tTdDfFsSR])?>")
_MASKED = re.compile(r"\[((?:\\.|[^\\\[\]\n])+)\]\((?:<(https?://[^\s>]+)>|(https?://[^\s()<>]+))\)")
URL = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]")
_LINKABLE = re.compile(r"https?://[^\s<>]+")
_PLAIN_IN_PARENS = re.compile(r"https?://[^\s()<>]+")
_SHORTCODE = re.compile(r":([A-Za-z0-9_+\-]{1,64}):")
_SHORTCODE_AFTER = re.compile(r"([A-Za-z0-9_+\-]{1,64}):")
_BROADCAST = re.compile(r"@(everyone|here)")
_HEADING = re.compile(r"#{1,3} ")


def _escapable(ch: str) -> bool:
    """Discord's escape rule: a backslash before any character but ASCII letters, digits and whitespace."""
    return not (ch.isspace() or (ch.isascii() and ch.isalnum()))


def _word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _shortcode_name(name: str) -> bool:
    """``:30:`` in ``10:30:45`` is a time, not an emoji."""
    return not name.isdigit()


# ------------------------------------------------------------------ parsing


def parse(text: str) -> RichText:
    """Discord message content as rich text (never raises)."""
    return _Parser(text).parse()


class _Parser:
    """One message: the text plus a memo of closers already known to be missing."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.no_closer: dict[tuple[str, int], int] = {}

    def parse(self) -> RichText:
        s = self.s
        out: list[Segment] = []
        i = 0
        block_quote = False
        while True:
            if block_quote or s.startswith("> ", i):
                start = i if block_quote else i + 2
                end = s.find("\n", start)
                end = len(s) if end < 0 else end
                out.append(Quote(tuple(self.line(start, end))))
                i = end
            elif s.startswith(">>> ", i):
                block_quote = True
                i += 4
                continue
            else:
                items, i = self.line_at(i, len(s))
                out.extend(items)
            if i >= len(s):
                break
            out.append(LineBreak())
            i += 1
        return normalise(out)

    def line(self, start: int, end: int) -> list[Segment]:
        """A whole line's content (a quote line), bounded by ``end``."""
        items, _ = self.line_at(start, end)
        return items

    def line_at(self, i: int, end: int) -> tuple[list[Segment], int]:
        """Line-start rules (heading, subtext), then inline content up to a line break."""
        s = self.s
        heading = _HEADING.match(s, i, end)
        if heading and heading.end() < end and s[heading.end()] != "\n":
            items, j = self.scan(heading.end(), end, 0)
            return [Styled("bold", tuple(items))], j
        if s.startswith("-# ", i) and i + 3 <= end:
            i += 3
        return self.scan(i, end, 0)

    def scan(self, i: int, end: int, depth: int) -> tuple[list[Segment], int]:
        """Inline segments from ``i`` until a line break outside atoms, or ``end``."""
        s = self.s
        out: list[Segment] = []
        buf: list[str] = []

        def flush() -> None:
            if buf:
                out.append(Text("".join(buf)))
                buf.clear()

        while i < end:
            ch = s[i]
            if ch == "\n":
                break
            atom = self.atom(i, end)
            if atom is not None:
                seg, i = atom
                if isinstance(seg, Text):
                    buf.append(seg.text)
                elif seg is not None:
                    flush()
                    out.append(seg)
                continue
            if ch in _DELIMS_AT and depth < MAX_DEPTH:
                styled = self.styled(i, end, depth)
                if styled is not None:
                    flush()
                    out.append(styled[0])
                    i = styled[1]
                    continue
            buf.append(ch)
            i += 1
        flush()
        return out, i

    def atom(self, i: int, end: int) -> tuple[Segment | None, int] | None:
        """A token a closer is never searched inside: (segment or None to drop, next index)."""
        s = self.s
        ch = s[i]
        if ch == "\\" and i + 1 < end and _escapable(s[i + 1]):
            return Text(s[i + 1]), i + 2
        if ch == ZWSP:
            return None, i + 1
        if ch == "`":
            return self.code(i, end)
        if ch == "<":
            return self.angle(i, end)
        if ch == "[":
            m = _MASKED.match(s, i, end)
            if m:
                label = _plain_label(m[1])
                return Link(m[2] or m[3], label or None), m.end()
            return None
        if ch == "h":
            m = URL.match(s, i, end)
            return (Link(m[0]), m.end()) if m else None
        if ch == "@":
            m = _BROADCAST.match(s, i, end)
            return (Mention("broadcast", m[1]), m.end()) if m else None
        if ch == ":":
            m = _SHORTCODE.match(s, i, end)
            if m and _shortcode_name(m[1]):
                return Emoji(m[1]), m.end()
            return None
        return None

    def code(self, i: int, end: int) -> tuple[Segment | None, int]:
        s = self.s
        j = i
        while j < end and s[j] == "`":
            j += 1
        run = j - i
        if run >= 3:
            m = _CODE_BLOCK.match(s, i, end)
            if m:
                return CodeBlock(m[2], m[1] or ""), m.end()
        k = j
        while k < end:
            if s[k] == "`":
                r = k
                while r < end and s[r] == "`":
                    r += 1
                if r - k == run:
                    content = s[j:k]
                    if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
                        content = content[1:-1]
                    return Code(content), r
                k = r
            else:
                k += 1
        return Text("`" * run), j

    def angle(self, i: int, end: int) -> tuple[Segment | None, int] | None:
        s = self.s
        if m := _USER.match(s, i, end):
            return Mention("user", m[1]), m.end()
        if m := _ROLE.match(s, i, end):
            return Mention("group", m[1]), m.end()
        if m := _CHANNEL.match(s, i, end):
            return Mention("channel", m[1]), m.end()
        if m := _CUSTOM_EMOJI.match(s, i, end):
            return Emoji(m[1], m[2]), m.end()
        if m := _ANGLE_URL.match(s, i, end):
            return Link(m[1]), m.end()
        if m := _SLASH.match(s, i, end):
            return Text("/" + m[1]), m.end()
        if m := _TIMESTAMP.match(s, i, end):
            return Text(_timestamp(int(m[1]))), m.end()
        return None

    def styled(self, i: int, end: int, depth: int) -> tuple[Styled, int] | None:
        s = self.s
        for delim in _DELIMS_AT[s[i]]:
            if not s.startswith(delim, i) or i + len(delim) >= end:
                continue
            start = i + len(delim)
            if delim == "*" and s[start].isspace():
                continue
            close = self.closer(delim, start, end)
            if close is None:
                continue
            children, _ = self.scan(start, close, depth + 1)
            marker = delim if delim in ("*", "_") else ""
            return Styled(_STYLE_OF[delim], tuple(children), marker), close + len(delim)
        return None

    def closer(self, delim: str, start: int, end: int) -> int | None:
        """Index of the first valid closer of ``delim`` after ``start`` on this line, if any."""
        key = (delim, end)
        failed_from = self.no_closer.get(key)
        if failed_from is not None and start >= failed_from:
            return None
        s = self.s
        size = len(delim)
        k = start
        while k < end:
            ch = s[k]
            if ch == "\n":
                break
            atom = self.atom(k, end)
            if atom is not None:
                k = atom[1]
                continue
            if size == 1 and s.startswith(delim * 2, k) and k + 1 < end:
                k += 2  # a pair inside single-marker emphasis is content (simple-markdown's rule)
                continue
            if s.startswith(delim, k) and k + size <= end and k > start and self.closes(delim, k, end):
                return k
            k += 1
        if failed_from is None or start < failed_from:
            self.no_closer[key] = start
        return None

    def closes(self, delim: str, k: int, end: int) -> bool:
        s = self.s
        after = s[k + len(delim)] if k + len(delim) < end else ""
        if delim == "**":
            return after != "*"
        if delim == "__":
            return after != "_"
        if delim == "*":
            return after != "*" and not s[k - 1].isspace()
        if delim == "_":
            return not (after and _word(after))
        return True


def _plain_label(raw: str) -> str:
    """A masked link's label as plain text: escapes undone, markup flattened."""
    parser = _Parser(raw)
    items, _ = parser.scan(0, len(raw), 0)
    return _flat(items)


def _flat(items: Sequence[Segment]) -> str:
    parts: list[str] = []
    for seg in items:
        match seg:
            case Text(text=t) | Code(text=t):
                parts.append(t)
            case Styled(children=children) | Quote(children=children):
                parts.append(_flat(children))
            case Link(url=url, label=label):
                parts.append(label or url)
            case Emoji(name=name):
                parts.append(f":{name}:")
            case Mention(kind=kind, id=ident):
                parts.append(("#" if kind == "channel" else "@") + ident)
            case CodeBlock(text=t):
                parts.append(t)
            case LineBreak():
                parts.append(" ")
    return "".join(parts)


def _timestamp(seconds: int) -> str:
    """``<t:1700000000:R>`` as a date every platform can show."""
    try:
        when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    return when.strftime("%Y-%m-%d %H:%M UTC")


# ------------------------------------------------------------ normalising


def normalise(rt: Sequence[Segment]) -> RichText:
    """The form of ``rt`` that Discord can express, which ``parse(render(rt))`` returns.

    Text is split at line breaks; mentions lose their labels (Discord shows
    names itself) and become text when their id is not a snowflake; Slack's
    ``@channel`` becomes ``@everyone``; links Discord cannot show become text;
    code loses line breaks and runs of backticks are broken by a zero-width
    space; code blocks inside quotes become inline code; styles do not nest in
    themselves, do not span lines and merge with a neighbour of the same
    style; quotes are single lines, never nested, at the start of a line.
    """
    segs = _clean(rt, frozenset(), in_quote=False)
    segs = _split_lines(_lift_quotes(segs))
    return _merge(_place_quotes(_merge(segs)))


def _clean(rt: Sequence[Segment], active: frozenset[str], *, in_quote: bool) -> list[Segment]:
    out: list[Segment] = []
    for seg in rt:
        match seg:
            case Text(text=t):
                for n, line in enumerate(t.split("\n")):
                    if n:
                        out.append(LineBreak())
                    if line:
                        out.append(Text(line))
            case Mention():
                out.append(_clean_mention(seg))
            case Link(url=url, label=label):
                out.append(_clean_link(url, label))
            case Emoji(name=name, id=ident):
                if ident and ident.isdigit() and len(ident) <= 20 and re.fullmatch(r"[A-Za-z0-9_]{2,32}", name):
                    out.append(Emoji(name, ident))
                elif _SHORTCODE.fullmatch(f":{name}:") and _shortcode_name(name):
                    out.append(Emoji(name))
                else:
                    out.append(Text(f":{name}:"))
            case Code(text=t):
                t = _break_backticks(t.replace("\n", " "), 2)
                if t:
                    out.append(Code(t))
            case CodeBlock(text=t, lang=lang):
                t = t.strip("\n")
                if in_quote:
                    t = _break_backticks(t.replace("\n", " "), 2)
                    if t:
                        out.append(Code(t))
                    continue
                t = _break_backticks(t, 3)
                if t:
                    out.append(CodeBlock(t, lang if _LANG.fullmatch(lang) else ""))
            case Styled(style=style, children=children, marker=marker):
                inner = _clean(children, active | {style}, in_quote=in_quote)
                if style in active:
                    out.extend(inner)
                    continue
                mark = (marker if marker in ("*", "_") else "*") if style == "italic" else ""
                out.append(Styled(style, tuple(inner), mark))
            case Quote(children=children):
                inner = _clean(children, active, in_quote=True)
                if in_quote:
                    out.extend(inner)
                else:
                    out.append(Quote(tuple(inner)))
            case LineBreak():
                out.append(seg)
    return out


def _clean_mention(m: Mention) -> Segment:
    if m.kind == "broadcast":
        if m.id in ("here", "everyone", "channel"):
            return Mention("broadcast", "here" if m.id == "here" else "everyone")
        return Text("@" + (m.label or m.id))
    if m.id.isdigit() and len(m.id) <= 20:
        return Mention(m.kind, m.id)
    return Text(("#" if m.kind == "channel" else "@") + (m.label or m.id))


def _clean_link(url: str, label: str | None) -> Segment:
    label = (label or "").replace("\n", " ")
    if not _LINKABLE.fullmatch(url):
        return Text(f"{label} ({url})" if label.strip() and label != url else url)
    if not label.strip() or label == url:
        return Link(url)
    return Link(url, label)


def _break_backticks(text: str, run: int) -> str:
    """Put a zero-width space into every run of ``run`` backticks, which would end the code."""
    mark = "`" * run
    while mark in text:
        text = text.replace(mark, "`" * (run - 1) + ZWSP + "`")
    return text


def _lift_quotes(rt: Sequence[Segment]) -> list[Segment]:
    """A quote inside a style becomes a quote of that style (quotes are whole lines)."""
    out: list[Segment] = []
    for seg in rt:
        if isinstance(seg, Styled):
            pending: list[Segment] = []
            for child in _lift_quotes(seg.children):
                if isinstance(child, Quote):
                    out.append(replace(seg, children=tuple(pending)))
                    pending = []
                    out.append(Quote((replace(seg, children=child.children),)))
                else:
                    pending.append(child)
            out.append(replace(seg, children=tuple(pending)))
        else:
            out.append(seg)
    return out


def _split_lines(rt: Sequence[Segment]) -> list[Segment]:
    """Styles end at a line break and start again after it; a quote is one line."""
    out: list[Segment] = []
    for seg in rt:
        if isinstance(seg, Styled | Quote):
            line: list[Segment] = []
            for child in _split_lines(seg.children):
                if isinstance(child, LineBreak):
                    out.extend([_with_children(seg, line), child])
                    line = []
                else:
                    line.append(child)
            out.append(_with_children(seg, line))
        else:
            out.append(seg)
    return out


def _with_children(seg: Styled | Quote, children: list[Segment]) -> Segment:
    return replace(seg, children=tuple(children)) if isinstance(seg, Styled) else Quote(tuple(children))


def _place_quotes(rt: Sequence[Segment]) -> list[Segment]:
    """Every quote line starts and ends a line."""
    out: list[Segment] = []
    for n, seg in enumerate(rt):
        if isinstance(seg, Quote) and out and not isinstance(out[-1], LineBreak):
            out.append(LineBreak())
        out.append(seg)
        if isinstance(seg, Quote) and n + 1 < len(rt) and not isinstance(rt[n + 1], LineBreak):
            out.append(LineBreak())
    return out


def _merge(rt: Sequence[Segment]) -> RichText:
    """Merge text, drop empty styles, join neighbouring runs of one style."""
    out: list[Segment] = []
    for seg in merge_text(rt):
        if isinstance(seg, Styled):
            children = _merge(seg.children)
            if not children:
                continue
            seg = replace(seg, children=children)
            if out and isinstance(out[-1], Styled) and out[-1].style == seg.style:
                seg = replace(out[-1], children=_merge(out[-1].children + seg.children))
                out.pop()
        elif isinstance(seg, Quote):
            seg = Quote(_merge(seg.children))
        out.append(seg)
    return merge_text(out)


# ------------------------------------------------------------------ rendering


def render(rt: Sequence[Segment]) -> str:
    """Rich text as Discord markdown; ``parse`` of the result gives ``normalise(rt)``."""
    return _emit(normalise(rt), "", line_start=True)


def _emit(segs: Sequence[Segment], suffix: str, *, line_start: bool) -> str:
    """Render right to left, so every piece knows what follows it (links, escapes, separators)."""
    starts: list[bool] = []
    at_start = line_start
    for seg in segs:
        starts.append(at_start)
        at_start = isinstance(seg, LineBreak)
    out = suffix
    for seg, at_start in zip(reversed(segs), reversed(starts), strict=True):
        piece, is_text = _piece(seg, out, at_start)
        separate = not is_text and piece and out and _collides(piece[-1], out[0])
        out = piece + (ZWSP if separate else "") + out
    return out[: len(out) - len(suffix)]


def _collides(last: str, first: str) -> bool:
    """Would these two characters, side by side, change how the markers around them read?"""
    return (last == first and last in _FAMILIES) or (last == "_" and _word(first))


def _piece(seg: Segment, after: str, line_start: bool) -> tuple[str, bool]:
    match seg:
        case Text(text=t):
            return escape(t, after, line_start=line_start), True
        case LineBreak():
            return "\n", True
        case Mention(kind=kind, id=ident):
            return _render_mention(kind, ident), False
        case Emoji(name=name, id=ident):
            return (f"<:{name}:{ident}>" if ident else f":{name}:"), False
        case Link(url=url, label=label):
            return _render_link(url, label, after), False
        case Code(text=t):
            fence = "``" if "`" in t else "`"
            pad = " " if "`" in t or (t.startswith(" ") and t.endswith(" ") and t.strip(" ")) else ""
            return f"{fence}{pad}{t}{pad}{fence}", False
        case CodeBlock(text=t, lang=lang):
            return f"```{lang}\n{t}\n```", False
        case Styled(style=style, children=children, marker=marker):
            return _render_styled(style, children, marker, after), False
        case Quote(children=children):
            return "> " + _emit(children, after, line_start=True), True
    return "", True


def _render_mention(kind: str, ident: str) -> str:
    if kind == "broadcast":
        return "@" + ident
    if kind == "channel":
        return f"<#{ident}>"
    if kind == "group":
        return f"<@&{ident}>"
    return f"<@{ident}>"


def _render_link(url: str, label: str | None, after: str) -> str:
    if label:
        target = url if _PLAIN_IN_PARENS.fullmatch(url) else f"<{url}>"
        return f"[{escape(label, ']', line_start=False, label=True)}]({target})"
    if URL.fullmatch(url):
        m = URL.match(url + after[:200])
        if m and m.end() == len(url):
            return url
    return f"<{url}>"


def _render_styled(style: Style, children: Sequence[Segment], marker: str, after: str) -> str:
    mark = marker if style == "italic" else _MARK_OF[style]
    body = _emit(children, mark + after, line_start=False)
    if body and body[0] == mark[-1]:
        body = ZWSP + body
    if mark == "*" and body:
        if body[0].isspace():
            body = ZWSP + body
        if body[-1].isspace():
            body += ZWSP
    return mark + body + mark


def escape(text: str, after: str = "", *, line_start: bool = False, label: bool = False) -> str:
    """Backslash-escape what Discord would read as markup, given what follows the text."""
    out: list[str] = []
    for k, ch in enumerate(text):
        if ch in _ALWAYS_ESCAPED or (label and ch == "]"):
            out.append("\\" + ch)
            continue
        if ch == ":" or ch == "@" or (k == 0 and line_start and ch in ">#-"):
            follow = text[k + 1 : k + 80] + after[:80]
            if ch == ":":
                m = _SHORTCODE_AFTER.match(follow)
                risky = follow.startswith("//") or bool(m and _shortcode_name(m[1]))
            elif ch == "@":
                risky = follow.startswith(("everyone", "here"))
            elif ch == "-":
                risky = follow.startswith("# ")
            else:
                risky = True
            if risky:
                out.append("\\" + ch)
                continue
        out.append(ch)
    return "".join(out)


# ------------------------------------------------------------------ names


def with_labels(rt: Sequence[Segment], labels: Mapping[tuple[str, str], str]) -> RichText:
    """Give mentions the names Discord resolved (``labels[(kind, id)]``), so copies read ``@Ana``."""

    def one(seg: Segment) -> Segment:
        if isinstance(seg, Mention) and (seg.kind, seg.id) in labels:
            return Mention(seg.kind, seg.id, labels[(seg.kind, seg.id)])
        return seg

    return map_segments(rt, one)
