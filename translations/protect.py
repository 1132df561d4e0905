"""Keep everything but words away from the engines, and put it back exactly.

A rich text is flattened into leaves: text pieces (the only thing an engine
sees), protected atoms (mentions, emoji, inline code, links, URLs written as
plain text, glossary terms), the edges of styled spans and link labels, and block breaks (line
breaks, code blocks, quotes). Breaks cut the text into runs; each run goes to
the engine as one string in which every protected leaf is a placeholder, so
the engine reads whole sentences ("ask <@U1> about **the plan**" becomes
"ask [1] about [2] the plan [3]"). When the placeholders come back complete and
in order, the translated words are slotted between the original leaves; when
an engine damaged, dropped or reordered one, the run's text pieces are
translated one by one instead. Either way the protected segments come out
the same and in the same order, because they never left this module.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

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
from translations.glossary import Hit, Matcher

Parsed = list[str | int]

# A URL typed as plain text (plain markup, or Slack text that arrived without angle brackets).
# It must reach the reader byte for byte: neither an engine nor the glossary may touch it.
# Trailing sentence punctuation stays text; a closing parenthesis only when the URL opened one.
_BARE_URL = re.compile(r"\b(?:https?://|ftp://|mailto:|www\.)[^\s<>\"]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?'\u2019\u201d"


class Codec(Protocol):
    """How an engine's input spells text and placeholders, and how its output is read back."""

    def escape(self, text: str) -> str:
        """Text as the engine must receive it."""
        ...

    def unescape(self, text: str) -> str:
        """Engine output text (placeholders removed) back to plain text."""
        ...

    def mark(self, index: int) -> str:
        """The placeholder for the index-th protected leaf of a run (1-based)."""
        ...

    def collides(self, text: str) -> bool:
        """True when plain text already contains something the codec would read as a placeholder."""
        ...

    def parse(self, output: str) -> Parsed | None:
        """Engine output as text pieces (still escaped) and placeholder indexes; None if unreadable."""
        ...

    def text_of(self, output: str) -> str:
        """Plain text of the output for a request that had no placeholders."""
        ...


class BracketCodec:
    """``[1]``: numbers in brackets, which neural engines copy like citation marks."""

    _MARK = re.compile(r"\[(\d{1,3})\]")

    def escape(self, text: str) -> str:
        return text

    def unescape(self, text: str) -> str:
        return text

    def mark(self, index: int) -> str:
        return f"[{index}]"

    def collides(self, text: str) -> bool:
        return self._MARK.search(text) is not None

    def parse(self, output: str) -> Parsed | None:
        out: Parsed = []
        start = 0
        for m in self._MARK.finditer(output):
            out.append(output[start : m.start()])
            out.append(int(m.group(1)))
            start = m.end()
        out.append(output[start:])
        return out

    def text_of(self, output: str) -> str:
        return output


BRACKETS = BracketCodec()


# ------------------------------------------------------------------ leaves


@dataclass(frozen=True, slots=True)
class Piece:
    """Words for the engine."""

    text: str


@dataclass(frozen=True, slots=True)
class Atom:
    """A protected inline segment, kept as is."""

    seg: Segment


@dataclass(frozen=True, slots=True)
class TermLeaf:
    """A glossary term, rendered for the target language at the end."""

    hit: Hit


@dataclass(frozen=True, slots=True)
class Open:
    """Start of a styled span, a link label or a quote."""

    seg: Styled | Link | Quote


@dataclass(frozen=True, slots=True)
class Close:
    """End of the span opened by the matching :class:`Open`."""

    seg: Styled | Link | Quote


@dataclass(frozen=True, slots=True)
class Break:
    """A line break or code block: a run boundary."""

    seg: LineBreak | CodeBlock


Leaf = Piece | Atom | TermLeaf | Open | Close | Break
Marker = Atom | TermLeaf | Open | Close


def flatten(rt: Sequence[Segment]) -> list[Leaf]:
    """The segments as leaves in reading order."""
    out: list[Leaf] = []
    for seg in rt:
        if isinstance(seg, Text):
            out.extend(_pieces(seg.text))
        elif isinstance(seg, Link) and seg.label:
            out.extend((Open(seg), *_pieces(seg.label), Close(seg)))
        elif isinstance(seg, Styled | Quote):
            out.append(Open(seg))
            out.extend(flatten(seg.children))
            out.append(Close(seg))
        elif isinstance(seg, LineBreak | CodeBlock):
            out.append(Break(seg))
        else:  # Mention, Emoji, Code, a link without label
            assert isinstance(seg, Mention | Emoji | Code | Link)
            out.append(Atom(seg))
    return out


def _pieces(text: str) -> list[Leaf]:
    """Text as pieces for the engine, with every URL in it cut out as a protected atom."""
    out: list[Leaf] = []
    pos = 0
    for m in _BARE_URL.finditer(text):
        url = _trim_url(m[0])
        if m.start() > pos:
            out.append(Piece(text[pos : m.start()]))
        out.append(Atom(Text(url)))
        pos = m.start() + len(url)
    if pos < len(text) or not out:
        out.append(Piece(text[pos:]))
    return out


def _trim_url(url: str) -> str:
    while url and (url[-1] in _URL_TRAIL or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def apply_glossary(leaves: Sequence[Leaf], matcher: Matcher) -> list[Leaf]:
    """Cut glossary terms out of the text pieces."""
    out: list[Leaf] = []
    for leaf in leaves:
        if not isinstance(leaf, Piece):
            out.append(leaf)
            continue
        for part in matcher.split(leaf.text):
            out.append(Piece(part) if isinstance(part, str) else TermLeaf(part))
    return out


def rebuild(leaves: Sequence[Leaf], target: str) -> RichText:
    """Leaves back into rich text, glossary terms rendered for ``target``."""
    stack: list[tuple[Styled | Link | Quote | None, list[Segment]]] = [(None, [])]
    for leaf in leaves:
        current = stack[-1][1]
        if isinstance(leaf, Piece):
            current.append(Text(leaf.text))
        elif isinstance(leaf, TermLeaf):
            current.append(Text(leaf.hit.term.render(target)))
        elif isinstance(leaf, Atom | Break):
            current.append(leaf.seg)
        elif isinstance(leaf, Open):
            stack.append((leaf.seg, []))
        else:
            opener, children = stack.pop()
            stack[-1][1].append(_close(opener, normalise(children)))
    assert len(stack) == 1, "unbalanced leaves"
    return normalise(stack[0][1])


def _close(opener: Styled | Link | Quote | None, children: RichText) -> Segment:
    if isinstance(opener, Styled):
        return replace(opener, children=children)
    if isinstance(opener, Quote):
        return Quote(children)
    assert isinstance(opener, Link)
    label = "".join(seg.text for seg in children if isinstance(seg, Text))
    return Link(opener.url, label or opener.label)


# -------------------------------------------------------------------- runs


def _is_boundary(leaf: Leaf) -> bool:
    return isinstance(leaf, Break) or (isinstance(leaf, Open | Close) and isinstance(leaf.seg, Quote))


def _has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


@dataclass(slots=True)
class Run:
    """A stretch of inline leaves between two breaks: what an engine reads as one text."""

    start: int
    leaves: list[Leaf]
    request: str | None = None  # placeholder-encoded input, None when it cannot be encoded
    lead: str = ""
    trail: str = ""
    space_before: tuple[bool, ...] = ()
    space_after: tuple[bool, ...] = ()
    result: list[Leaf] | None = None
    fallback: list[int] | None = None  # indexes of pieces translated one by one

    def markers(self) -> list[Marker]:
        return [leaf for leaf in self.leaves if not isinstance(leaf, Piece | Break)]

    def needs_engine(self) -> bool:
        return any(isinstance(leaf, Piece) and _has_words(leaf.text) for leaf in self.leaves)


def split_runs(leaves: Sequence[Leaf]) -> list[Run]:
    """The runs of inline leaves, with their start index in ``leaves``."""
    runs: list[Run] = []
    current: list[Leaf] = []
    start = 0
    for i, leaf in enumerate(leaves):
        if _is_boundary(leaf):
            if current:
                runs.append(Run(start, current))
            current = []
            start = i + 1
        else:
            current.append(leaf)
    if current:
        runs.append(Run(start, current))
    return runs


class Plan:
    """One rich text on its way through an engine: requests out, translations in, rich text back."""

    def __init__(self, rt: Sequence[Segment], matcher: Matcher, codec: Codec) -> None:
        self.codec = codec
        self.leaves = apply_glossary(flatten(rt), matcher)
        self.runs = [run for run in split_runs(self.leaves) if run.needs_engine()]
        for run in self.runs:
            self._encode(run)

    # ----------------------------------------------------------- encoding

    def _encode(self, run: Run) -> None:
        pieces = [leaf.text for leaf in run.leaves if isinstance(leaf, Piece)]
        if any(self.codec.collides(text) for text in pieces):
            run.fallback = self._piece_indexes(run)
            return
        parts: list[str] = []
        for leaf in run.leaves:
            if isinstance(leaf, Piece):
                parts.append(self.codec.escape(leaf.text.replace("\0", " ")))
            else:
                parts.append("\0")  # stand-in while measuring whitespace around markers
        joined = "".join(parts)
        body = joined.strip()
        run.lead = joined[: len(joined) - len(joined.lstrip())]
        run.trail = joined[len(joined.rstrip()) :]
        # Between two adjacent markers the text is empty: neither a space nor a word touches either of them.
        texts = body.split("\0")
        run.space_before = tuple(bool(t) and t[-1].isspace() for t in texts[:-1])
        run.space_after = tuple(bool(t) and t[0].isspace() for t in texts[1:])
        # Markers stand apart from words in the request (engines tokenize "[2]the" badly); the source's own
        # spacing around each marker is restored from space_before/space_after when the answer comes back.
        out = [texts[0]]
        for index, (left, right) in enumerate(itertools.pairwise(texts), 1):
            if left and left[-1].isalnum():
                out.append(" ")
            out.append(self.codec.mark(index))
            if right and right[0].isalnum():
                out.append(" ")
            out.append(right)
        run.request = "".join(out)

    @staticmethod
    def _piece_indexes(run: Run) -> list[int]:
        return [i for i, leaf in enumerate(run.leaves) if isinstance(leaf, Piece) and _has_words(leaf.text)]

    def requests(self) -> list[str]:
        """Engine inputs for the runs that can travel whole."""
        return [run.request for run in self.runs if run.request is not None]

    # ----------------------------------------------------------- decoding

    def accept(self, outputs: Sequence[str]) -> list[str]:
        """Take the engine's answers to :meth:`requests`; returns the pieces to translate one by one."""
        whole = [run for run in self.runs if run.request is not None]
        assert len(outputs) == len(whole), "one output per request"
        for run, output in zip(whole, outputs, strict=True):
            run.result = self._decode(run, output)
            if run.result is None:
                run.fallback = self._piece_indexes(run)
        return self.fallback_requests()

    def fallback_requests(self) -> list[str]:
        out: list[str] = []
        for run in self.runs:
            for i in run.fallback or ():
                leaf = run.leaves[i]
                assert isinstance(leaf, Piece)
                out.append(self.codec.escape(leaf.text.strip().replace("\0", " ")))
        return out

    def accept_fallback(self, outputs: Sequence[str]) -> None:
        """Take the answers to :meth:`fallback_requests`, in the same order."""
        answers = iter(outputs)
        for run in self.runs:
            if run.fallback is None:
                continue
            leaves = list(run.leaves)
            for i in run.fallback:
                leaf = leaves[i]
                assert isinstance(leaf, Piece)
                words = self.codec.text_of(next(answers)).strip()
                lead = leaf.text[: len(leaf.text) - len(leaf.text.lstrip())]
                trail = leaf.text[len(leaf.text.rstrip()) :]
                leaves[i] = Piece(lead + (words or leaf.text.strip()) + trail)
            run.result = leaves

    def _decode(self, run: Run, output: str) -> list[Leaf] | None:
        parsed = self.codec.parse(output.strip())
        markers = run.markers()
        if parsed is None or [p for p in parsed if isinstance(p, int)] != list(range(1, len(markers) + 1)):
            return None
        texts = [p for p in parsed if isinstance(p, str)]  # len(markers) + 1 pieces around the markers
        for k in range(len(markers)):
            texts[k] = _fit_end(texts[k], run.space_before[k])
            texts[k + 1] = _fit_start(texts[k + 1], run.space_after[k])
        texts[0] = run.lead + texts[0].lstrip()
        texts[-1] = texts[-1].rstrip() + run.trail
        leaves: list[Leaf] = []
        for k, text in enumerate(texts):
            words = self.codec.unescape(text)
            if words:
                leaves.append(Piece(words))
            if k < len(markers):
                leaves.append(markers[k])
        if not _spans_filled(run.leaves, leaves):
            return None
        return leaves

    # ---------------------------------------------------------- rebuilding

    def result(self, target: str) -> RichText:
        """The translated rich text; runs never answered keep their text."""
        leaves = list(self.leaves)
        for run in reversed(self.runs):
            if run.result is not None:
                leaves[run.start : run.start + len(run.leaves)] = run.result
        return rebuild(leaves, target)


def _fit_end(text: str, space: bool) -> str:
    """Whitespace before a marker as the source had it (only where a word meets the marker)."""
    if not space:
        return text.rstrip()
    if text and text[-1].isalnum():
        return text + " "
    return text


def _fit_start(text: str, space: bool) -> str:
    if not space:
        return text.lstrip()
    if text and text[0].isalnum():
        return " " + text
    return text


def _spans_filled(source: Sequence[Leaf], result: Sequence[Leaf]) -> bool:
    """Every styled span or link label that had words still has some."""

    def filled(leaves: Sequence[Leaf]) -> list[bool]:
        out: list[bool] = []
        stack: list[int] = []
        for leaf in leaves:
            if isinstance(leaf, Open):
                stack.append(len(out))
                out.append(False)
            elif isinstance(leaf, Close):
                if stack:
                    stack.pop()
            elif stack and (isinstance(leaf, Atom | TermLeaf) or (isinstance(leaf, Piece) and leaf.text.strip())):
                for i in stack:
                    out[i] = True
        return out

    if not any(isinstance(leaf, Open) for leaf in source):
        return True  # no spans (the common case): nothing to check
    return all(got or not had for had, got in zip(filled(source), filled(result), strict=True))
