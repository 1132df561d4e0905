"""What every backend shares: cache, fan-out, failure handling, backend choice, config."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from bot.errors import ConfigError, TranslationError
from bot.richtext import Mention, Text, plain, to_plain
from testing.fake_libretranslate import FakeLibreTranslate
from tests.fixtures.translation_helpers import SqliteCache, argos_config
from translations import choose_backend, create
from translations.cache import MemoryCache
from translations.config import parse_settings
from translations.translator import EngineTranslator, PassThroughTranslator


def argos(packages_dir: Path, cache: object | None = None) -> EngineTranslator:
    translator = create(argos_config(packages_dir), cache or MemoryCache())  # type: ignore[arg-type]
    assert isinstance(translator, EngineTranslator)
    return translator


async def test_the_same_text_again_costs_no_engine_call(argos_dir: Path) -> None:
    translator = argos(argos_dir)
    first = await translator.translate(plain("hello world"), "en", "es")
    assert translator.engine_calls == 1
    again = await translator.translate(plain("hello world"), "en", "es")
    assert again == first and translator.engine_calls == 1
    # a line already translated inside another message is not translated twice either
    await translator.translate(plain("the mayor\nhello world"), "en", "es")
    assert translator.engine_calls == 2
    await translator.translate(plain("the mayor"), "en", "es")
    assert translator.engine_calls == 2
    await translator.close()


async def test_pivot_hops_are_cached_too(argos_dir: Path) -> None:
    translator = argos(argos_dir)
    await translator.translate(plain("hello world"), "en", "es")
    assert translator.engine_calls == 1
    await translator.translate(plain("hello world"), "en", "pt")  # en-es is cached; only es-pt runs
    assert translator.engine_calls == 2
    await translator.close()


async def test_cache_survives_a_restart(argos_dir: Path, tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "cache.db")
    first = argos(argos_dir, cache)
    result = await first.translate(plain("hello world"), "en", "pt")
    await first.close()
    cache.close()

    reopened = SqliteCache(tmp_path / "cache.db")
    second = argos(argos_dir, reopened)
    assert await second.translate(plain("hello world"), "en", "pt") == result
    assert second.engine_calls == 0
    reopened.close()


async def test_concurrent_identical_requests_share_one_engine_call(fake_lt: FakeLibreTranslate) -> None:
    translator = create({"backend": "libretranslate", "libretranslate": {"url": fake_lt.url}}, MemoryCache())
    assert isinstance(translator, EngineTranslator)
    await translator.route("en", "es")
    fake_lt.delay = 0.05  # keep the first request in flight while the others arrive
    results = await asyncio.gather(*(translator.translate(plain("hello world"), "en", "es") for _ in range(8)))
    assert {to_plain(r.text) for r in results} == {"hola mundo"}
    assert fake_lt.count("/translate") == 1
    await translator.close()


async def test_concurrent_waiters_see_the_failure_too(fake_lt: FakeLibreTranslate) -> None:
    translator = create(
        {"backend": "libretranslate", "libretranslate": {"url": fake_lt.url, "retries": 0}}, MemoryCache()
    )
    await translator.translate(plain("hello"), "en", "es")
    fake_lt.delay = 0.05
    fake_lt.fail_next = [500]
    results = await asyncio.gather(
        *(translator.translate(plain("world"), "en", "es") for _ in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, TranslationError) for r in results)
    assert fake_lt.count("/translate") == 2
    await translator.close()


async def test_failures_are_logged_once_per_problem_and_reported_by_checks(
    argos_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    only = tmp_path / "packages"
    shutil.copytree(argos_dir / "translate-en_es-tiny", only / "translate-en_es-tiny")
    translator = argos(only)
    caplog.set_level(logging.INFO, logger="translations")
    for i in range(5):
        with pytest.raises(TranslationError):
            await translator.translate(plain(f"hola {i}"), "es", "pt")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "missing pair es-pt" in warnings[0].getMessage()
    failing = {c.name for c in translator.checks() if not c.ok}
    assert failing == {"translation: argos missing pair es-pt", "translation: argos pairs"}

    await translator.translate(plain("hello"), "en", "es")  # works again: the problem is cleared
    assert {c.name for c in translator.checks() if not c.ok} == {"translation: argos pairs"}
    assert any("works again" in r.getMessage() for r in caplog.records)
    await translator.close()


async def test_text_without_words_needs_no_engine(tmp_path: Path) -> None:
    translator = argos(tmp_path / "no-models")
    rt = (Mention("user", "U1"), Text(" 👍 "))
    result = await translator.translate(rt, "en", "es")  # no models, and no error: nothing to translate
    assert result.text == rt and not result.translated
    only_term = await translator.translate(plain("Mexico City"), "en", "es")
    assert only_term.text == (Text("Ciudad de México"),) and only_term.translated
    same = await translator.translate(plain("hello"), "en", "en")
    assert same.text == plain("hello") and not same.translated


async def test_none_backend_passes_text_through() -> None:
    translator = create({"backend": "none"}, MemoryCache())
    assert isinstance(translator, PassThroughTranslator)
    rt = (Text("hola "), Mention("user", "U1"))
    result = await translator.translate(rt, "es", "en")
    assert result.text == rt and result.translated is False and result.engine == "none"
    assert translator.detect("Precisamos proteger os dados pessoais dos moradores.", "es") == "pt"
    assert translator.checks()[0].ok


def test_auto_prefers_argos_then_apertium_then_libretranslate_then_none(
    argos_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="translations")
    empty_modes = tmp_path / "modes"
    empty_modes.mkdir()
    base = {"apertium": {"modes_dir": str(empty_modes)}}

    with_models = parse_settings({**base, "argos": {"packages_dir": str(argos_dir)}}, {})
    assert choose_backend(with_models)[0] == "argos"
    assert create({**base, "argos": {"packages_dir": str(argos_dir)}}, MemoryCache()).name == "argos"
    assert "translation backend: auto chose argos (4 model packages in" in caplog.text

    no_models = {"packages_dir": str(tmp_path / "none")}
    if shutil.which("lt-proc"):
        assert choose_backend(parse_settings({"argos": no_models}, {}))[0] == "apertium"
    remote = parse_settings({**base, "argos": no_models, "libretranslate": {"url": "http://127.0.0.1:9"}}, {})
    assert choose_backend(remote)[0] == "libretranslate"
    nothing = create({**base, "argos": no_models}, MemoryCache())
    assert nothing.name == "none"
    assert "untranslated" in nothing.checks()[0].detail


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"backend": "deepl"}, "translation.backend"),
        ({"argos": {"beam_size": 0}}, "translation.argos.beam_size"),
        ({"argos": {"beam": 1}}, "translation.argos.beam"),
        ({"libretranslate": {"url": "ftp://x"}}, "translation.libretranslate.url"),
        ({"backend": "libretranslate"}, "translation.libretranslate.url"),
        ({"apertium": {"modes": {"en-xx": "eng-xxx"}}}, "translation.apertium.modes.en-xx"),
        ({"detect": {"min_confidence": 2}}, "translation.detect.min_confidence"),
        ({"pivots": ["fr"]}, "translation.pivots"),
        ({"glossary": "/no/such/glossary.toml"}, "translation.glossary"),
        ({"colour": "blue"}, "translation.colour"),
    ],
)
def test_bad_config_names_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        create(table, MemoryCache())
