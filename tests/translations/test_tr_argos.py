"""The argos backend through the real argostranslate + CTranslate2 code path, on tiny copy models."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import pytest

from bot.errors import TranslationError
from bot.richtext import Emoji, LineBreak, Link, Mention, Styled, Text, plain
from testing.tiny_argos import GLOSSARIES, build_package, fake_minisbd_onnx
from tests.fixtures.translation_helpers import argos_config
from translations import create
from translations.backends.argos import ArgosEngine
from translations.cache import MemoryCache
from translations.config import parse_settings
from translations.models import install_files
from translations.translator import EngineTranslator


def make(packages_dir: Path, **argos: object) -> EngineTranslator:
    translator = create(argos_config(packages_dir, **argos), MemoryCache())
    assert isinstance(translator, EngineTranslator)
    assert translator.name == "argos"
    return translator


async def test_direct_pair_translates_through_the_model(argos_dir: Path) -> None:
    translator = make(argos_dir)
    result = await translator.translate(plain("hello world. The mayor said hello!"), "en", "es")
    assert result.translated and result.engine == "argos"
    assert result.text == (Text("hola mundo. The alcaldesa said hola!"),)
    await translator.close()


async def test_missing_pairs_pivot_through_es(argos_dir: Path) -> None:
    translator = make(argos_dir)
    assert await translator.route("en", "pt") == [("en", "es"), ("es", "pt")]
    assert await translator.route("pt", "en") == [("pt", "es"), ("es", "en")]
    en_pt = await translator.translate(plain("hello world"), "en", "pt")
    assert en_pt.text == (Text("olá mundão"),)
    pt_en = await translator.translate(plain("olá mundão, disse a prefeita"), "pt", "en")
    assert pt_en.text == (Text("hello world, disse a mayor"),)
    await translator.close()


async def test_markup_survives_with_placeholders(argos_dir: Path) -> None:
    translator = make(argos_dir)
    rt = (
        Text("hello "),
        Mention("user", "U1", "ann"),
        Text(", the "),
        Styled("bold", (Text("mayor"),), "*"),
        Text(" said hello "),
        Emoji("wave"),
        LineBreak(),
        Link("https://city.gov/x?y=1", "hello world"),
    )
    result = await translator.translate(rt, "en", "pt")
    assert result.text == (
        Text("olá "),
        Mention("user", "U1", "ann"),
        Text(", the "),
        Styled("bold", (Text("prefeita"),), "*"),
        Text(" said olá "),
        Emoji("wave"),
        LineBreak(),
        Link("https://city.gov/x?y=1", "olá mundão"),
    )
    # one request per run, each carrying its placeholders through both hops
    assert translator.engine_calls == 2
    await translator.close()


async def test_unknown_pair_raises_translation_error(argos_dir: Path, tmp_path: Path) -> None:
    only = tmp_path / "only-en-es"
    shutil.copytree(argos_dir / "translate-en_es-tiny", only / "translate-en_es-tiny")
    translator = make(only)
    with pytest.raises(TranslationError, match="missing pair es-pt"):
        await translator.translate(plain("hola mundo"), "es", "pt")
    assert any(not c.ok and "missing pair es-pt" in c.name for c in translator.checks())
    await translator.close()


async def test_no_models_is_reported_by_checks(tmp_path: Path) -> None:
    translator = make(tmp_path / "empty")
    checks = translator.checks()
    assert checks[0].name == "translation: argos models" and not checks[0].ok
    assert "agora models install" in checks[0].fix
    with pytest.raises(TranslationError):
        await translator.translate(plain("hello"), "en", "es")


async def test_packages_installed_while_running_are_picked_up(
    argos_dir: Path, tiny_archives: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    where = tmp_path / "packages"
    install_files([tiny_archives[("en", "es")]], where)
    translator = make(where)
    with pytest.raises(TranslationError):
        await translator.translate(plain("hola"), "es", "en")
    install_files([tiny_archives[("es", "en")]], where)
    result = await translator.translate(plain("hola mundo"), "es", "en")
    assert result.text == (Text("hello world"),)
    await translator.close()


async def test_beam_size_is_configurable(argos_dir: Path) -> None:
    import argostranslate.settings as argos_settings

    translator = make(argos_dir, beam_size=3)
    await translator.translate(plain("hello"), "en", "es")
    assert argos_settings.beam_size == 3
    translator = make(argos_dir)
    await translator.translate(plain("hello world"), "en", "es")
    assert argos_settings.beam_size == 1


async def test_sentences_are_split_without_the_network(argos_dir: Path) -> None:
    translator = make(argos_dir)
    engine = translator.engine
    assert isinstance(engine, ArgosEngine)
    await translator.translate(plain("hello. world"), "en", "es")
    (model,) = engine._loaded.values()
    assert str(model.sentencizer) == "RegexSentencizer"
    assert model.sentencizer.split_sentences("One. Two! Three? four") == ["One.", "Two!", "Three?", "four"]
    await translator.close()


async def test_one_batched_call_translates_like_argos_itself(argos_dir: Path) -> None:
    translator = make(argos_dir)
    engine = translator.engine
    assert isinstance(engine, ArgosEngine)
    texts = ["hello world. the mayor [1] said hello!", "", "hello\n\nworld", "\nmayor. plan", "[1] [2]", "a. b. c? d"]
    got = await engine.translate(texts, "en", "es")
    (model,) = engine._loaded.values()
    assert got == [model.hypotheses(text, num_hypotheses=1)[0].value for text in texts]
    assert got[0] == "hola mundo. the alcaldesa [1] said hola!"
    await translator.close()


async def test_minisbd_splitter_runs_on_a_bundled_onnx_model(argos_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    sbd = tmp_path / "sbd.onnx"
    fake_minisbd_onnx(sbd)
    archive = build_package(tmp_path / "en_es.argosmodel", "en", "es", GLOSSARIES[("en", "es")], sbd_onnx=sbd)
    where = tmp_path / "packages"
    install_files([archive], where)
    translator = make(where, sentence_splitter="minisbd")
    result = await translator.translate(plain("hello world. The mayor said hello!"), "en", "es")
    assert result.text == (Text("hola mundo. The alcaldesa said hola!"),)
    engine = translator.engine
    assert isinstance(engine, ArgosEngine)
    (model,) = engine._loaded.values()
    assert str(model.sentencizer) == "MiniSBDSentencizer"
    await translator.close()


def test_argos_was_imported_with_its_directories_under_the_test_home(argos_home: Path) -> None:
    import argostranslate.settings as argos_settings

    assert "argostranslate" in sys.modules
    assert Path(argos_settings.data_dir).is_relative_to(argos_home)
    assert Path(argos_settings.cache_dir).is_relative_to(argos_home)


async def test_message_text_is_not_logged_above_debug(argos_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    translator = make(argos_dir)
    with caplog.at_level(logging.INFO):
        await translator.translate(plain("hello secret world"), "en", "es")
    assert not [r for r in caplog.records if "secret" in r.getMessage()]
    await translator.close()


def test_settings_default_packages_dir_follows_argos(tmp_path: Path) -> None:
    settings = parse_settings({}, {"XDG_DATA_HOME": str(tmp_path)})
    assert settings.argos.packages_dir == tmp_path / "argos-translate" / "packages"
    settings = parse_settings({}, {"ARGOS_PACKAGES_DIR": str(tmp_path / "p")})
    assert settings.argos.packages_dir == tmp_path / "p"
