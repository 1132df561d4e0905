"""The apertium backend against the real Debian binaries, through long-lived pipelines."""

from __future__ import annotations

import os
import shutil
import signal
import stat
from pathlib import Path

import pytest

from bot.errors import TranslationError
from bot.ports import GlossaryTerm
from bot.richtext import Code, Emoji, LineBreak, Link, Mention, Styled, Text, plain, protected, to_plain
from translations import create
from translations.backends.apertium import ApertiumEngine
from translations.cache import MemoryCache
from translations.translator import EngineTranslator

pytestmark = [
    pytest.mark.apertium,
    pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed (apt-get install apertium)"),
]

MODES = Path("/usr/share/apertium/modes")


def make(**apertium: object) -> EngineTranslator:
    translator = create({"backend": "apertium", "apertium": apertium}, MemoryCache())
    assert isinstance(translator, EngineTranslator)
    assert translator.name == "apertium"
    return translator


async def test_real_translation_in_every_configured_direction() -> None:
    translator = make()
    es = await translator.translate(plain("the red house is big"), "en", "es")
    assert to_plain(es.text) == "La casa roja es grande"
    pt = await translator.translate(plain("la casa roja es grande"), "es", "pt")
    assert to_plain(pt.text) == "a casa vermelha é grande"
    back = await translator.translate(plain("a casa vermelha é grande"), "pt", "es")
    assert to_plain(back.text) == "la casa roja es grande"
    en = await translator.translate(plain("la casa roja es grande"), "es", "en")
    assert to_plain(en.text) == "The red house is big"
    await translator.close()


async def test_en_pt_pivots_through_es() -> None:
    translator = make()
    assert await translator.route("en", "pt") == [("en", "es"), ("es", "pt")]
    result = await translator.translate(plain("the red house is big"), "en", "pt")
    assert to_plain(result.text) == "A casa vermelha é grande"
    await translator.close()


async def test_words_apertium_drops_leave_no_gaps_in_the_copy() -> None:
    # eng-spa drops "do you" and keeps its blanks: "Cómo   cuentas ..." before the tidy-up
    translator = make()
    question = "How do you count people sleeping outside in winter?"
    es = to_plain((await translator.translate(plain(question), "en", "es")).text)
    pt = to_plain((await translator.translate(plain(question), "en", "pt")).text)
    assert "  " not in es and "  " not in pt
    assert es.startswith("Cómo cuentas") and pt.startswith("Como conta")
    await translator.close()


def test_double_spaces_the_writer_typed_are_kept() -> None:
    from translations.backends.apertium import tidy_spaces

    assert tidy_spaces("a  b", "x  y") == "x  y"
    assert tidy_spaces("a b c", "x   y  z") == "x y z"
    assert tidy_spaces("a b", "  x\n\ny ") == "  x\n\ny "


async def test_a_caret_at_the_end_does_not_stall_the_pipeline() -> None:
    # lrx-proc (eng-spa, spa-eng) drops the NUL flush after an escaped "^" with no word after it
    translator = make(timeout=3)
    for text, source, target in (("µ^", "en", "es"), ("la casa ^", "es", "en"), ("2^10 houses", "en", "es")):
        result = await translator.translate(plain(text), source, target)
        assert "^" in to_plain(result.text)
    assert to_plain((await translator.translate(plain("the red house"), "en", "es")).text) == "La casa roja"
    await translator.close()


async def test_placeholders_survive_the_real_pipeline() -> None:
    translator = make()
    rt = (
        Text("ask "),
        Mention("user", "U1", "ann"),
        Text(" about "),
        Styled("bold", (Text("the red house"),), "*"),
        Text(" today "),
        Emoji("smile"),
        Text(" in "),
        Mention("channel", "C9", "general"),
        LineBreak(),
        Text("run "),
        Code("ls [x] {y} ^z$ @w"),
        Text(" and read "),
        Link("https://example.org/a?b=[1]", "the plan"),
    )
    result = await translator.translate(rt, "en", "pt")
    assert list(protected(result.text))[:4] == [
        Mention("user", "U1", "ann"),
        Emoji("smile"),
        Mention("channel", "C9", "general"),
        Code("ls [x] {y} ^z$ @w"),
    ]
    link = list(protected(result.text))[4]
    assert isinstance(link, Link) and link.url == "https://example.org/a?b=[1]" and link.label == "o plano"
    bold = next(seg for seg in result.text if isinstance(seg, Styled))
    assert to_plain(bold.children) == "a casa vermelha"
    # apertium would have turned "#general" into "#geral": it never saw it
    assert "geral" not in to_plain(result.text)
    await translator.close()


async def test_brackets_in_text_are_escaped_not_mistaken_for_placeholders() -> None:
    translator = make()
    rt = (Text("see [1] and {2} <b> before "), Mention("user", "U1"), Text(" today"))
    result = await translator.translate(rt, "en", "es")
    assert list(protected(result.text)) == [Mention("user", "U1")]
    assert "[1]" in to_plain(result.text) and "{2}" in to_plain(result.text) and "<b>" in to_plain(result.text)
    await translator.close()


async def test_glossary_terms_are_kept_or_fixed() -> None:
    translator = make()
    rt = plain("Housing First cut the PIT count in Buenos Aires and the open data policy.")
    network = [GlossaryTerm("open data", (("es", "datos abiertos"), ("pt", "dados abertos")))]
    result = await translator.translate(rt, "en", "es", network)
    text = to_plain(result.text)
    assert "Vivienda Primero" in text  # apertium alone says "Albergando Primero"
    assert "PIT" in text and "FOSA" not in text
    assert "Buenos Aires" in text and "datos abiertos" in text
    back = await translator.translate(plain("Vimos el conteo PIT en Porto Alegre."), "es", "en")
    assert "Porto Alegre" in to_plain(back.text)  # apertium alone says "Carry Merry"
    await translator.close()


async def test_a_dead_pipeline_is_restarted_once() -> None:
    translator = make()
    engine = translator.engine
    assert isinstance(engine, ApertiumEngine)
    await translator.translate(plain("la casa"), "es", "pt")
    pipe = engine._pipes[("es", "pt")]
    assert pipe.proc is not None
    os.killpg(pipe.proc.pid, signal.SIGKILL)
    await pipe.proc.wait()
    result = await translator.translate(plain("la casa roja"), "es", "pt")
    assert to_plain(result.text) == "a casa vermelha"
    assert pipe.restarts == 1
    assert any("restarted" in c.detail for c in translator.checks())
    await translator.close()


def _fake_mode(modes: Path, name: str, script: str) -> None:
    """A mode whose one stage is a shell script: a pipeline that stalls or dies on demand."""
    modes.mkdir(exist_ok=True)
    stage = modes / f"{name}.sh"
    stage.write_text("#!/bin/sh\n" + script + "\n")
    stage.chmod(stage.stat().st_mode | stat.S_IEXEC)
    (modes / f"{name}.mode").write_text(f"'{stage}'\n")


async def test_a_pipeline_that_keeps_dying_raises_after_one_restart(tmp_path: Path) -> None:
    _fake_mode(tmp_path, "dies", "exit 0")
    translator = make(modes_dir=str(tmp_path), modes={"en-es": "dies"})
    with pytest.raises(TranslationError, match="pipeline died"):
        await translator.translate(plain("hello"), "en", "es")
    engine = translator.engine
    assert isinstance(engine, ApertiumEngine)
    assert engine._pipes[("en", "es")].restarts == 1
    await translator.close()


async def test_a_stalled_pipeline_times_out_and_is_replaced(tmp_path: Path) -> None:
    _fake_mode(tmp_path, "stalls", "exec sleep 600")
    translator = make(modes_dir=str(tmp_path), modes={"en-es": "stalls"}, timeout=0.2)
    with pytest.raises(TranslationError, match="timeout"):
        await translator.translate(plain("hello"), "en", "es")
    engine = translator.engine
    assert isinstance(engine, ApertiumEngine)
    assert engine._pipes[("en", "es")].proc is None  # killed: its output would be out of step
    await translator.close()


async def test_missing_direction_is_a_translation_error(tmp_path: Path) -> None:
    modes = tmp_path / "modes"
    modes.mkdir()
    shutil.copy(MODES / "eng-spa.mode", modes)
    translator = make(modes_dir=str(modes))
    with pytest.raises(TranslationError, match="missing pair es-pt"):
        await translator.translate(plain("hola"), "es", "pt")
    assert to_plain((await translator.translate(plain("the red house"), "en", "es")).text) == "La casa roja"
    await translator.close()


async def test_a_direction_can_be_disabled_to_force_a_pivot() -> None:
    translator = make(modes={"en-es": ""})
    with pytest.raises(TranslationError, match="missing pair en-es"):
        await translator.translate(plain("hello"), "en", "es")
    await translator.close()
