"""``agora bench translation_overhead``: both paths run for real on a handful of messages (figures only, no timings)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.translation_overhead import Message, RawApertium, RawArgos, dev_rows, measure, messages
from bot.richtext import Code, Emoji, Link, Mention, Text
from translations.detect import LanguageDetector

FIGURES = {"agora_per_s", "raw_per_s", "cost_ratio", "n", "agora_p50_ms", "raw_p50_ms", "engine_calls_per_message"}


def handful() -> list[Message]:
    """Two messages per source language, every relay direction among them."""
    batch = messages(dev_rows(), LanguageDetector())
    return [m for lang in ("en", "es", "pt") for m in [m for m in batch if m.source == lang][:2]]


def test_messages_carry_markup_and_go_to_another_language() -> None:
    batch = handful()
    assert {(m.source, m.target) for m in batch} == {("en", "es"), ("es", "en"), ("es", "pt"), ("pt", "es")}
    for msg in batch:
        kinds = {type(seg) for seg in msg.rich}
        assert {Mention, Link, Code, Emoji} <= kinds
        # the raw engine gets exactly the words Agora sends through its layer
        assert "".join(seg.text for seg in msg.rich if isinstance(seg, Text)).split() == msg.words.split()


async def test_argos_figures(argos_dir: Path) -> None:
    batch = handful()
    figures = await measure("argos", batch, packages_dir=argos_dir, seconds=0, warmup=1, minimum=len(batch))
    assert set(figures) >= FIGURES
    assert figures["n"] == len(batch)
    assert figures["agora_per_s"] > 0 and figures["raw_per_s"] > 0 and figures["cost_ratio"] > 0
    assert figures["engine_calls_per_message"] == 1  # one engine call per message: no pivot, no fallback
    assert figures["directions"] == ["en-es", "es-en", "es-pt", "pt-es"]


async def test_raw_argos_translates_with_the_model(argos_dir: Path) -> None:
    raw = RawArgos(argos_dir)
    out = await raw.translate("hello world. the mayor said hello!", "en", "es")
    assert out == "hola mundo. the alcaldesa said hola!"
    await raw.close()


async def test_argos_without_the_packages_is_skipped_with_a_reason(tmp_path: Path) -> None:
    figures = await measure("argos", handful(), packages_dir=tmp_path)
    assert set(figures) == {"skipped"} and "en-es" in figures["skipped"]


@pytest.mark.apertium
@pytest.mark.skipif(shutil.which("lt-proc") is None, reason="apertium is not installed")
async def test_apertium_figures() -> None:
    batch = handful()
    figures = await measure("apertium", batch, seconds=0, warmup=1, minimum=len(batch))
    assert set(figures) >= FIGURES
    assert figures["agora_per_s"] > 0 and figures["raw_per_s"] > 0 and figures["cost_ratio"] > 0
    assert figures["engine_calls_per_message"] == 1
    raw = RawApertium()
    assert await raw.translate("the red house is big", "en", "es") == "La casa roja es grande"
    await raw.close()


async def test_apertium_without_the_binaries_is_skipped_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    figures = await measure("apertium", handful())
    assert set(figures) == {"skipped"} and "lt-proc" in figures["skipped"]
