"""Hypothesis strategies for rich text, shared by every test outside tests/discord.

One module, one vocabulary: each strategy below draws the rich text one layer can carry without
loss (the core's model, the translators' protected segments, web markup, Slack mrkdwn), built from
the same pieces, so a new dialect's tests start from here instead of a sixth copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from bot.richtext import (
    Code,
    CodeBlock,
    Emoji,
    LineBreak,
    Link,
    Mention,
    MentionKind,
    Quote,
    RichText,
    Segment,
    Style,
    Styled,
    Text,
    normalise,
)

MENTION_KINDS = ["user", "channel", "group", "broadcast"]
IDS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)


def spaced(segs: Sequence[Segment]) -> list[Segment]:
    """Segments with a space between each two (dialects that need words apart around markers)."""
    out: list[Segment] = []
    for i, seg in enumerate(segs):
        if i:
            out.append(Text(" "))
        out.append(seg)
    return out


@st.composite
def lines(
    draw: st.DrawFn, line: st.SearchStrategy[Sequence[Segment]], min_size: int = 0, max_size: int = 5
) -> RichText:
    """Lines drawn from ``line``, joined by line breaks."""
    out: list[Segment] = []
    for i, segs in enumerate(draw(st.lists(line, min_size=min_size, max_size=max_size))):
        if i:
            out.append(LineBreak())
        out.extend(segs)
    return normalise(tuple(out))


# ------------------------------------------------------------------ the core's model: anything goes

_core_words = st.text(st.sampled_from("abcdefghij klmnop.,!?¿¡ ñãçé"), min_size=1, max_size=40)
_core_segments: st.SearchStrategy[Segment] = st.one_of(
    _core_words.map(Text),
    st.just(LineBreak()),
    st.builds(Mention, st.sampled_from(MENTION_KINDS), st.text("U0123", min_size=1), _core_words),
    st.builds(Link, st.just("https://example.org/x"), st.one_of(st.none(), _core_words)),
    st.builds(Emoji, st.sampled_from(["smile", "thumbsup"])),
    st.builds(Code, _core_words),
    st.builds(CodeBlock, st.text("abc =\n", min_size=1, max_size=200)),
    st.builds(
        Styled,
        st.sampled_from(["bold", "italic", "strike"]),
        st.lists(_core_words.map(Text), min_size=1, max_size=3).map(tuple),
    ),
    st.builds(Quote, st.lists(_core_words.map(Text), min_size=1, max_size=2).map(tuple)),
)
any_rich_text = st.lists(_core_segments, max_size=40).map(lambda segs: normalise(tuple(segs)))
"""Normalised rich text of every segment kind (richtext's own functions)."""

# ------------------------------------------------------------------ what translators must protect

TRANSLATION_WORDS = [
    "hello",
    "world",
    "mayor",
    "hola",
    "mundo",
    "the",
    "plan",
    "casa",
    "roja",
    "olá",
    "PIT",
    "Buenos Aires",
]
_chars = st.characters(blacklist_categories=("Cs", "Cc"))
_tr_words = st.text(alphabet=_chars, max_size=12) | st.sampled_from(TRANSLATION_WORDS)
_tr_text = st.lists(_tr_words, min_size=1, max_size=5).map(" ".join).map(Text)
_tr_atoms: st.SearchStrategy[Segment] = st.one_of(
    st.builds(Mention, st.sampled_from(MENTION_KINDS), IDS, st.text(alphabet=_chars, max_size=10)),
    st.builds(Link, st.sampled_from(["https://x.y/a?b=[1]", "https://city.gov/plan", "mailto:a@b.c"]), st.none()),
    st.builds(Link, st.just("https://city.gov/r"), st.lists(_tr_words, min_size=1, max_size=3).map(" ".join)),
    st.builds(Emoji, st.sampled_from(["smile", "+1", "tada"]), st.none() | IDS),
    st.builds(Code, st.text(alphabet=_chars, min_size=1, max_size=10)),
    st.builds(CodeBlock, st.text(alphabet=_chars, min_size=1, max_size=20), st.sampled_from(["", "py"])),
    st.just(LineBreak()),
)
_tr_inline = st.one_of(_tr_text, _tr_atoms)
_tr_nested = st.one_of(
    st.builds(
        Styled,
        st.sampled_from(["bold", "italic", "strike"]),
        st.lists(_tr_inline, min_size=1, max_size=3).map(tuple),
        st.sampled_from(["*", "_", ""]),
    ),
    st.builds(Quote, st.lists(_tr_inline, min_size=1, max_size=3).map(tuple)),
)
translatable_rich_text = st.lists(st.one_of(_tr_text, _tr_atoms, _tr_nested), min_size=1, max_size=8).map(tuple)
"""Words in any script around every protected segment, not normalised (as adapters may hand them over)."""

# ------------------------------------------------------------------ web markup (Discord-style markdown)

_web_word = st.text(st.sampled_from("abcxyz ñé.,!?*_~`[]()|@:>#\\-/h"), min_size=1, max_size=12)
_web_name = st.text(st.sampled_from("abcdefgh"), min_size=1, max_size=8)
_web_inline: st.SearchStrategy[Segment] = st.one_of(
    _web_word.map(Text),
    st.builds(Link, st.just("https://city.gov/a?b=1"), st.one_of(st.none(), _web_word)),
    st.builds(Emoji, _web_name),
    st.builds(Code, st.text(st.sampled_from("ab *_x"), min_size=1, max_size=8)),
)
_web_styled = st.builds(
    lambda style_marker, children: Styled(style_marker[0], children, style_marker[1]),
    st.sampled_from([("bold", "**"), ("strike", "~~"), ("underline", "__"), ("spoiler", "||"), ("italic", "_")]),
    st.lists(_web_inline, min_size=1, max_size=3).map(lambda s: normalise(tuple(s))),
)
_web_line = st.lists(st.one_of(_web_inline, _web_styled), min_size=1, max_size=6).map(normalise).filter(bool)
_web_block: st.SearchStrategy[Sequence[Segment]] = st.one_of(
    _web_line,
    _web_line.map(lambda children: (Quote(children),)),
    st.text(st.sampled_from("ab =\n;"), max_size=30)
    .filter(lambda t: "\n```" not in t)
    .map(lambda t: (CodeBlock(t, "sql"),)),
    st.builds(lambda who: (Text("hi "), Mention("user", who, who)), _web_name),
    st.sampled_from([(Mention("broadcast", "here"),), (Mention("broadcast", "everyone"),)]),
)
web_rich_text = lines(_web_block, min_size=1)
"""Rich text the web markup writes and reads back unchanged."""

# ------------------------------------------------------------------ Slack mrkdwn

# Words Slack can carry unambiguously: no emphasis markers, backticks or colons
# (Slack has no escape for them), and the entity characters that must be escaped.
_slack_word = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789éãçñ¿?!.,;'\"()[]{}/#@$%&<>+=-")),
    min_size=1,
    max_size=8,
).filter(lambda w: not w.startswith(">"))
_slack_ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=2, max_size=9)
_slack_label = st.text(alphabet=st.sampled_from(list("abc XYZ-_.é&<>|")), min_size=1, max_size=10).filter(
    lambda s: s.strip() == s and s
)
_slack_url = st.builds(
    lambda host, path: f"https://{host}.org/{path}",
    st.text(alphabet="abcdefghij", min_size=1, max_size=8),
    st.text(alphabet="abcdefghij0123456789/._-?=&%", max_size=12),
)


def _slack_mention(kind: MentionKind, prefix: str) -> st.SearchStrategy[Mention]:
    """A user/channel/group mention: Slack's id letter, then the id; a label or none."""
    return st.builds(Mention, st.just(kind), _slack_ids.map(lambda s: prefix + s), st.one_of(st.just(""), _slack_label))


_slack_atoms: st.SearchStrategy[Segment] = st.one_of(
    st.lists(_slack_word, min_size=1, max_size=4).map(lambda ws: Text(" ".join(ws))),
    _slack_mention("user", "U"),
    _slack_mention("channel", "C"),
    _slack_mention("group", "S"),
    st.builds(Mention, st.just("broadcast"), st.sampled_from(["here", "channel", "everyone"])),
    st.builds(Link, _slack_url, st.one_of(st.none(), _slack_label)),
    st.builds(Emoji, st.text(alphabet="abcdefghijklmnopqrstuvwxyz_+-", min_size=1, max_size=12)),
    st.builds(
        Code,
        st.text(alphabet=st.sampled_from(list("abc xyz()*_~:<>&=")), min_size=1, max_size=10).filter(
            lambda s: s.strip() == s
        ),
    ),
)


def _slack_styled(inner: st.SearchStrategy[Segment], style: Style, mark: str) -> st.SearchStrategy[Segment]:
    return st.lists(inner, min_size=1, max_size=3).map(lambda segs: Styled(style, normalise(spaced(segs)), mark))


_slack_inline: st.SearchStrategy[Segment] = st.one_of(
    _slack_atoms,
    _slack_styled(_slack_atoms, "bold", "*"),
    _slack_styled(_slack_atoms, "italic", "_"),
    _slack_styled(_slack_atoms, "strike", "~"),
    _slack_styled(_slack_styled(_slack_atoms, "italic", "_"), "bold", "*"),
)
_slack_line: st.SearchStrategy[Sequence[Segment]] = st.one_of(
    st.lists(_slack_inline, min_size=0, max_size=5).map(spaced),
    st.lists(_slack_inline, min_size=1, max_size=3).map(lambda segs: [Quote(normalise(spaced(segs)))]),
    st.text(alphabet="abc xyz\n*_<>&`", max_size=20).map(lambda t: [CodeBlock(t)] if "```" not in t else []),
)
slack_rich_text = lines(_slack_line)
"""Rich text Slack's mrkdwn (and its rich_text blocks, labels aside) carries unchanged."""
