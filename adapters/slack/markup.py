"""Slack mrkdwn to and from the core's rich text.

This is the only place that knows Slack's markup. Slack sends message text
with ``&``, ``<`` and ``>`` escaped as entities, so every literal ``<`` is
markup: ``<@U1>``, ``<#C1|general>``, ``<!here>``, ``<!subteam^S1|@team>``,
``<https://x|label>``. Emphasis (``*bold*``, ``_italic_``, ``~strike~``) only
counts at word edges and within one line, as in Slack's clients, so
``snake_case`` and ``2*3*4`` stay plain text. Slack has no backslash escape, so
a literal ``*word*`` cannot be sent without becoming bold; that is Slack's
limit, not ours.

:func:`parse` never raises; :func:`render` escapes what must be escaped, and
``parse(render(rt))`` gives ``rt`` back for every text Slack can express.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.richtext import (
    BROADCASTS,
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
)

_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_QUOTE = re.compile(r"(?:&gt;|>) ?")
_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<angle><[^<>\n]*>)"
    r"|(?P<emoji>:[a-z0-9_+'\-]+:)"
    r"|(?P<mark>[*_~])"
)
_STYLE_OF: dict[str, Style] = {"*": "bold", "_": "italic", "~": "strike"}
_MARK_OF: dict[str, str] = {"bold": "*", "italic": "_", "strike": "~"}


def unescape(text: str) -> str:
    """Undo Slack's three entities (and only those, as Slack does)."""
    return _ENTITY.sub(lambda m: _ENTITIES[m[1]], text)


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------ parsing


def parse(text: str) -> RichText:
    """Slack message text (as in events and API answers) to rich text."""
    out: list[Segment] = []
    pos = 0
    line_start = True
    for m in _CODE_BLOCK.finditer(text):
        out.extend(_lines(text[pos : m.start()], line_start))
        body = m[1]
        if body.startswith("\n"):
            body = body[1:]
        if body.endswith("\n"):
            body = body[:-1]
        out.append(CodeBlock(unescape(body)))
        pos = m.end()
        line_start = False
    out.extend(_lines(text[pos:], line_start))
    return normalise(out)


def _lines(chunk: str, first_is_line_start: bool) -> list[Segment]:
    out: list[Segment] = []
    for i, line in enumerate(chunk.split("\n")):
        if i:
            out.append(LineBreak())
        if (i or first_is_line_start) and (m := _QUOTE.match(line)):
            out.append(Quote(normalise(_inline(line[m.end() :]))))
        elif line:
            out.extend(_inline(line))
    return out


@dataclass(frozen=True, slots=True)
class _Mark:
    """An emphasis character that may open or close a span, decided in a second pass."""

    char: str


_Token = Segment | _Mark


def _inline(line: str) -> list[Segment]:
    tokens: list[_Token] = []
    pos = 0
    for m in _INLINE.finditer(line):
        if m.start() > pos:
            tokens.append(Text(unescape(line[pos : m.start()])))
        kind = m.lastgroup
        raw = m[0]
        if kind == "code":
            tokens.append(Code(unescape(raw[1:-1])))
        elif kind == "angle":
            tokens.append(_angle(raw[1:-1]))
        elif kind == "emoji":
            tokens.append(Emoji(raw[1:-1]))
        else:
            tokens.append(_Mark(raw))
        pos = m.end()
    if pos < len(line):
        tokens.append(Text(unescape(line[pos:])))
    return _Styler(tokens).build(0, len(tokens))


def _angle(inner: str) -> Segment:
    """One ``<...>`` token: a mention, a broadcast, a link, or a special with a fallback."""
    head, _, label = inner.partition("|")
    label = unescape(label)
    if head.startswith("@") and len(head) > 1:
        return Mention("user", head[1:], label)
    if head.startswith("#") and len(head) > 1:
        return Mention("channel", head[1:], label)
    if head.startswith("!"):
        name = head[1:]
        if name in BROADCASTS:
            return Mention("broadcast", name)
        if name.startswith("subteam^") and len(name) > 8:
            return Mention("group", name[8:], label.removeprefix("@"))
        # <!date^...|fallback> and future specials: show what Slack shows without support
        return Text(label or ("@" + name if name else ""))
    if not head:
        return Text(unescape("<" + inner + ">"))
    return Link(unescape(head), label or None)


def _char_class(token: _Token | None, last: bool) -> str:
    """``edge``, ``space``, ``alnum`` or ``punct`` for the character next to a mark."""
    if token is None:
        return "edge"
    if isinstance(token, Text):
        if not token.text:
            return "edge"
        ch = token.text[-1] if last else token.text[0]
        if ch.isspace():
            return "space"
        return "alnum" if ch.isalnum() else "punct"
    return "punct"


class _Styler:
    """Pairs emphasis marks the way Slack does: the first closer after an opener wins."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.closers: dict[str, list[int]] = {ch: [] for ch in _STYLE_OF}
        for i, tok in enumerate(tokens):
            if isinstance(tok, _Mark) and self._can_close(i):
                self.closers[tok.char].append(i)

    def _neighbours(self, i: int) -> tuple[str, str]:
        prev = self.tokens[i - 1] if i > 0 else None
        nxt = self.tokens[i + 1] if i + 1 < len(self.tokens) else None
        return _char_class(prev, last=True), _char_class(nxt, last=False)

    def _can_open(self, i: int) -> bool:
        before, after = self._neighbours(i)
        return before in ("edge", "space", "punct") and after in ("alnum", "punct")

    def _can_close(self, i: int) -> bool:
        before, after = self._neighbours(i)
        return before in ("alnum", "punct") and after in ("edge", "space", "punct")

    def build(self, lo: int, hi: int) -> list[Segment]:
        out: list[Segment] = []
        i = lo
        while i < hi:
            tok = self.tokens[i]
            if isinstance(tok, _Mark):
                j = self._closer(tok.char, i, hi) if self._can_open(i) else None
                if j is not None:
                    children = normalise(self.build(i + 1, j))
                    out.append(Styled(_STYLE_OF[tok.char], children, tok.char))
                    i = j + 1
                    continue
                out.append(Text(tok.char))
            else:
                out.append(tok)
            i += 1
        return out

    def _closer(self, char: str, opener: int, hi: int) -> int | None:
        positions = self.closers[char]
        k = bisect.bisect_right(positions, opener + 1)
        if k < len(positions) and positions[k] < hi:
            return positions[k]
        return None


# ---------------------------------------------------------------- rendering


def render(rt: Sequence[Segment]) -> str:
    """Rich text to Slack mrkdwn, with ``&<>`` escaped so nothing becomes markup by accident."""
    out: list[str] = []
    segs = list(rt)
    for i, seg in enumerate(segs):
        if isinstance(seg, Quote):
            if out and not out[-1].endswith("\n"):
                out.append("\n")
            out.append(_render_quote(seg.children))
            if i + 1 < len(segs) and not isinstance(segs[i + 1], LineBreak):
                out.append("\n")
        else:
            out.append(_render_segment(seg))
    return "".join(out)


def _render_segment(seg: Segment) -> str:
    match seg:
        case Text(text=t):
            return escape(t)
        case Mention():
            return _render_mention(seg)
        case Link(url=url, label=label):
            return f"<{escape(url)}|{escape(label)}>" if label else f"<{escape(url)}>"
        case Emoji(name=name):
            return f":{name}:"
        case Code(text=t):
            if not t:
                return ""
            if "`" in t or "\n" in t:
                return _render_code_block(t)
            return f"`{escape(t)}`"
        case CodeBlock(text=t):
            return _render_code_block(t)
        case Styled(style=style, children=children):
            return _render_styled(style, children)
        case Quote(children=children):
            return _render_quote(children)
        case LineBreak():
            return "\n"
    return ""


def _render_code_block(text: str) -> str:
    # The padding newlines are what parse() strips, so leading/trailing newlines survive.
    return "```\n" + escape(text) + "\n```"


def _render_mention(m: Mention) -> str:
    label = escape(m.label)
    if m.kind == "user":
        return f"<@{m.id}|{label}>" if label else f"<@{m.id}>"
    if m.kind == "channel":
        return f"<#{m.id}|{label}>" if label else f"<#{m.id}>"
    if m.kind == "group":
        return f"<!subteam^{m.id}|@{label}>" if label else f"<!subteam^{m.id}>"
    return f"<!{m.id}>"


def _split_lines(children: Sequence[Segment]) -> list[list[Segment]]:
    lines: list[list[Segment]] = [[]]
    for seg in children:
        if isinstance(seg, LineBreak):
            lines.append([])
        else:
            lines[-1].append(seg)
    return lines


def _render_styled(style: Style, children: Sequence[Segment]) -> str:
    mark = _MARK_OF.get(style)
    if mark is None:  # underline, spoiler: Slack has neither, keep the words
        return render(children)
    rendered_lines = []
    for line in _split_lines(children):
        body = render(line)
        core = body.strip()
        if not core:
            rendered_lines.append(body)
            continue
        lead = body[: len(body) - len(body.lstrip())]
        trail = body[len(body.rstrip()) :]
        rendered_lines.append(f"{lead}{mark}{core}{mark}{trail}")
    return "\n".join(rendered_lines)


def _render_quote(children: Sequence[Segment]) -> str:
    return "\n".join("> " + render(line) for line in _split_lines(children))
