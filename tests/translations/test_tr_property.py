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
    Link,
    Quote,
    RichText,
    Styled,
    Text,
    normalise,
)
from testing.fake_libretranslate import FakeLibreTranslate
from tests.fixtures.translation_helpers import argos_config
from tests.strategies import translatable_rich_text
from translations import create
from translations.cache import MemoryCache


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
@given(rt=translatable_rich_text, pair=st.sampled_from([("en", "es"), ("en", "pt"), ("pt", "en"), ("es", "pt")]))
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
@given(rt=translatable_rich_text)
async def test_an_engine_that_changes_nothing_gives_back_the_exact_message(
    identity_lt: Translator, rt: RichText
) -> None:
    result = await identity_lt.translate(rt, "en", "es")
    assert normalise(result.text) == normalise(rt)
