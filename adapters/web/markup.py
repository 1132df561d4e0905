"""The playground's Markdown-like markup, to and from the core's rich text.

Syntax: ``**bold**``, ``*italic*`` or ``_italic_``, ``__underline__``,
``~~strike~~``, ``||spoiler||``, ```` `code` ````, fenced code blocks,
``[label](url)``, bare http(s) links, ``@name`` and ``@here``/``@channel``/
``@everyone``, ``:emoji:``, ``> quote`` lines, and backslash escapes. Anything
that does not close on its line is literal text, so parsing never fails.
The renderer escapes exactly what the parser would otherwise read as markup,
so ``parse(render(rt)) == rt`` for every canonical rich text.
"""

from __future__ import annotations

import re
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
    Styled,
    Text,
    normalise,
    plain,
    to_plain,
)

SPECIAL = set("\\*_~`[]|")
URL = re.compile(r"https?://[^\s<>()\[\]|`\\]+")
URL_TRAIL = ".,;:!?'\""
EMOJI = re.compile(r":([a-z0-9_+-]{1,40}):")
MENTION = re.compile(r"@([\w][\w.-]{0,39})")
FENCE_LANG = re.compile(r"[\w+#.-]{0,20}")
MARKERS: tuple[tuple[str, str], ...] = (
    ("**", "bold"),
    ("__", "underline"),
    ("~~", "strike"),
    ("||", "spoiler"),
    ("*", "italic"),
    ("_", "italic"),
)


def parse(text: str) -> RichText:
    """Markup to rich text; total (never raises)."""
    out: list[Segment] = []
    i = 0
    n = len(text)
    line_start = True
    while i < n:
        if text.startswith("```", i):
            block = _fence(text, i)
            if block is not None:
                seg, i = block
                out.append(seg)
                line_start = False
                continue
        if line_start and text.startswith("> ", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(Quote(normalise(_inline(text[i + 2 : end]))))
            i = end
            line_start = False
            continue
        if text[i] == "\n":
            out.append(LineBreak())
            i += 1
            line_start = True
            continue
        end = text.find("\n", i)
        end = n if end < 0 else end
        fence = text.find("```", i, end)
        stop = end if fence < 0 else fence
        if stop == i:  # an unclosed fence: literal backticks
            out.append(Text("```"))
            i += 3
        else:
            out.extend(_inline(text[i:stop]))
            i = stop
        line_start = False
    return normalise(out)


def _fence(text: str, i: int) -> tuple[CodeBlock, int] | None:
    nl = text.find("\n", i + 3)
    if nl < 0:
        return None
    lang = text[i + 3 : nl]
    if not FENCE_LANG.fullmatch(lang):
        return None
    close = text.find("\n```", nl)
    if close < 0:
        return None
    return CodeBlock(text[nl + 1 : close], lang), close + 4


def _inline(line: str) -> list[Segment]:
    segs, _ = _scan(line, 0, None)
    return segs


def _scan(s: str, i: int, stop: str | None) -> tuple[list[Segment], int]:
    """Parse inline markup from ``i``; with ``stop``, end just after that marker or fail (-1)."""
    out: list[Segment] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            out.append(Text("".join(buf)))
            buf.clear()

    n = len(s)
    while i < n:
        if stop is not None and s.startswith(stop, i):
            flush()
            return out, i + len(stop)
        c = s[i]
        if c == "\\" and i + 1 < n and (s[i + 1] in SPECIAL or s[i + 1] in "@:><"):
            buf.append(s[i + 1])
            i += 2
            continue
        if c == "`":
            close = s.find("`", i + 1)
            if close > i + 1:
                flush()
                out.append(Code(s[i + 1 : close]))
                i = close + 1
                continue
        if c == "[":
            link = _link(s, i)
            if link is not None:
                flush()
                out.append(link[0])
                i = link[1]
                continue
        if c in "*_~|":
            styled = _styled(s, i, stop)
            if styled is not None:
                flush()
                out.append(styled[0])
                i = styled[1]
                continue
        if c == "<":
            m = URL.match(s, i + 1)
            if m and s.startswith(">", m.end()):
                flush()
                out.append(Link(m.group(0)))
                i = m.end() + 1
                continue
        if c == "h":
            m = URL.match(s, i)
            if m:
                url = m.group(0).rstrip(URL_TRAIL)
                if len(url) > len("https://"):
                    flush()
                    out.append(Link(url))
                    i += len(url)
                    continue
        if c == "@" and (i == 0 or not s[i - 1].isalnum()):
            m = MENTION.match(s, i)
            if m:
                flush()
                name = m.group(1)
                out.append(Mention("broadcast", name) if name in BROADCASTS else Mention("user", name, name))
                i = m.end()
                continue
        if c == ":":
            m = EMOJI.match(s, i)
            if m:
                flush()
                out.append(Emoji(m.group(1)))
                i = m.end()
                continue
        buf.append(c)
        i += 1
    if stop is not None:
        return out, -1
    flush()
    return out, i


def _styled(s: str, i: int, stop: str | None) -> tuple[Styled, int] | None:
    for marker, style in MARKERS:
        if not s.startswith(marker, i) or marker == stop:
            continue
        children, end = _scan(s, i + len(marker), marker)
        if end > 0 and children:
            return Styled(style, normalise(children), marker), end  # type: ignore[arg-type]
        return None
    return None


def _link(s: str, i: int) -> tuple[Link, int] | None:
    j = i + 1
    label: list[str] = []
    while j < len(s) and s[j] != "]":
        if s[j] == "\\" and j + 1 < len(s):
            label.append(s[j + 1])
            j += 2
            continue
        label.append(s[j])
        j += 1
    if j >= len(s) or not s.startswith("](", j):
        return None
    close = s.find(")", j + 2)
    url = s[j + 2 : close] if close > 0 else ""
    if not url or not URL.fullmatch(url) or not label:
        return None
    return Link(url, "".join(label)), close + 1


# ------------------------------------------------------------------ render


def render(rt: RichText) -> str:
    """Rich text to markup that parses back to the same rich text."""
    return _render(rt, line_start=True)


def _render(rt: RichText, line_start: bool, tail_safe: bool = True) -> str:
    out: list[str] = []
    start = line_start
    for k, seg in enumerate(rt):
        match seg:
            case Text(text=t):
                out.append(_escape(t, start))
            case Mention(kind=kind, id=ident, label=label):
                name = ident if kind == "broadcast" else (label or ident)
                out.append("@" + name)
            case Link(url=url, label=label):
                nxt = rt[k + 1] if k + 1 < len(rt) else None
                bare = (
                    (nxt is None and tail_safe)
                    or isinstance(nxt, LineBreak)
                    or (isinstance(nxt, Text) and nxt.text[:1].isspace())
                )
                if label:
                    out.append(f"[{_escape_label(label)}]({url})")
                else:
                    out.append(url if bare and url[-1] not in URL_TRAIL else f"<{url}>")
            case Emoji(name=name):
                out.append(f":{name}:")
            case Code(text=t):
                out.append(f"`{t}`")
            case CodeBlock(text=t, lang=lang):
                out.append(f"```{lang}\n{t}\n```")
            case Styled(children=children, marker=marker, style=style):
                mark = marker or _MARK_OF[style]
                out.append(mark + _render(children, False, tail_safe=False) + mark)
            case Quote(children=children):
                out.append("> " + _render(children, False))
            case LineBreak():
                out.append("\n")
        start = isinstance(seg, LineBreak)
    return "".join(out)


_MARK_OF = {"bold": "**", "italic": "*", "underline": "__", "strike": "~~", "spoiler": "||"}


def _escape(text: str, line_start: bool) -> str:
    out: list[str] = []
    for k, c in enumerate(text):
        prev = text[k - 1] if k else ""
        nxt = text[k + 1] if k + 1 < len(text) else ""
        if (
            c in SPECIAL
            or (c == "@" and (nxt == "" or nxt.isalnum() or nxt == "_") and not prev.isalnum())
            or (c == ":" and (nxt == "" or nxt.isalnum() or nxt in "_+-/"))
            or (c == ">" and k == 0 and line_start)
            or (c == "<" and nxt in ("", "h"))
        ):
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def _escape_label(label: str) -> str:
    return label.replace("\\", "\\\\").replace("]", "\\]").replace("`", "\\`")


@dataclass(frozen=True, slots=True)
class _Plain:
    """The ``plain`` markup: text in, text out, nothing interpreted."""

    @staticmethod
    def parse(text: str) -> RichText:
        return plain(text)

    @staticmethod
    def render(rt: RichText) -> str:
        return to_plain(rt)


PLAIN = _Plain()
