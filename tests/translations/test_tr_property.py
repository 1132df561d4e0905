"""Property: whatever the text, every protected segment survives every backend unchanged and in order."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ports import Translator
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
from tests.fixtures.fake_libretranslate import FakeLibreTranslate
from tests.fixtures.translation_helpers import argos_config
from translations import create
from translations.cache import MemoryCache

WORDS = ["hello", "world", "mayor", "hola", "mundo", "the", "plan", "casa", "roja", "olá", "PIT", "Buenos Aires"]
chars = st.characters(blacklist_categories=("Cs", "Cc"))
words = st.text(alphabet=chars, max_size=12) | st.sampled_from(WORDS)
text = st.lists(words, min_size=1, max_size=5).map(" ".join).map(Text)
ident = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
label = st.text(alphabet=chars, max_size=10)
atoms: st.SearchStrategy[Segment] = st.one_of(
    st.builds(Mention, st.sampled_from(["user", "channel", "group", "broadcast"]), ident, label),
    st.builds(Link, st.sampled_from(["https://x.y/a?b=[1]", "https://city.gov/plan", "mailto:a@b.c"]), st.none()),
    st.builds(Link, st.just("https://city.gov/r"), st.lists(words, min_size=1, max_size=3).map(" ".join)),
    st.builds(Emoji, st.sampled_from(["smile", "+1", "tada"]), st.none() | ident),
    st.builds(Code, st.text(alphabet=chars, min_size=1, max_size=10)),
    st.builds(CodeBlock, st.text(alphabet=chars, min_size=1, max_size=20), st.sampled_from(["", "py"])),
    st.just(LineBreak()),
)
inline = st.one_of(text, atoms)
nested = st.one_of(
    st.builds(
        Styled,
        st.sampled_from(["bold", "italic", "strike"]),
        st.lists(inline, min_size=1, max_size=3).map(tuple),
        st.sampled_from(["*", "_", ""]),
    ),
    st.builds(Quote, st.lists(inline, min_size=1, max_size=3).map(tuple)),
)
rich_texts = st.lists(st.one_of(text, atoms, nested), min_size=1, max_size=8).map(tuple)


def skeleton(rt: RichText) -> list[Any]:
    """Everything but the words: the segments translation must keep, in order, with their nesting."""
    out: list[Any] = []
    for seg in rt:
        if isinstance(seg, Text):
            continue
        if isinstance(seg, Styled):
            out.append(("styled", seg.style, seg.marker, skeleton(seg.children)))
        elif isinstance(seg, Quote):
            out.append(("quote", skeleton(seg.children)))
        elif isinstance(seg, Link):
            out.append(("link", seg.url, bool(seg.label)))
        else:
            out.append(seg)
    return out


BACKENDS = [
    "none",
    "argos",
    pytest.param(
        "apertium",
        marks=[
            pytest.mark.apertium,
            pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed"),
        ],
    ),
    "libretranslate",
    "libretranslate-damaging",
]


@pytest.fixture
async def backend(request: pytest.FixtureRequest, argos_dir: Path) -> AsyncIterator[Translator]:
    name: str = request.param
    server = None
    if name == "argos":
        config: dict[str, Any] = argos_config(argos_dir)
    elif name.startswith("libretranslate"):
        server = FakeLibreTranslate(damage=name.endswith("damaging"))
        config = {"backend": "libretranslate", "libretranslate": {"url": await server.start()}}
    else:
        config = {"backend": name}
    translator = create(config, MemoryCache())
    yield translator
    await translator.close()
    if server is not None:
        await server.stop()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rt=rich_texts, pair=st.sampled_from([("en", "es"), ("en", "pt"), ("pt", "en"), ("es", "pt")]))
async def test_protected_segments_survive_every_backend(
    backend: Translator, rt: RichText, pair: tuple[str, str]
) -> None:
    result = await backend.translate(rt, *pair)
    assert skeleton(result.text) == skeleton(normalise(rt))


@pytest.fixture
async def identity_lt() -> AsyncIterator[Translator]:
    server = FakeLibreTranslate(identity=True)
    translator = create({"backend": "libretranslate", "libretranslate": {"url": await server.start()}}, MemoryCache())
    yield translator
    await translator.close()
    await server.stop()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rt=rich_texts)
async def test_an_engine_that_changes_nothing_gives_back_the_exact_message(
    identity_lt: Translator, rt: RichText
) -> None:
    result = await identity_lt.translate(rt, "en", "es")
    assert normalise(result.text) == normalise(rt)
