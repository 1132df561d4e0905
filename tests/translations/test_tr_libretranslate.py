"""The libretranslate backend against a fake LibreTranslate server on 127.0.0.1."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.errors import TranslationError
from bot.ports import GlossaryTerm
from bot.richtext import LineBreak, Link, Mention, Styled, Text, plain, to_plain
from testing.fake_libretranslate import FakeLibreTranslate
from translations import create
from translations.cache import MemoryCache
from translations.translator import EngineTranslator


def make(url: str, environ: dict[str, str] | None = None, **libre: Any) -> EngineTranslator:
    config = {"backend": "libretranslate", "libretranslate": {"url": url, "backoff": 0.01, **libre}}
    translator = create(config, MemoryCache(), environ=environ or {})
    assert isinstance(translator, EngineTranslator)
    assert translator.name == "libretranslate"
    return translator


async def test_translates_and_batches_every_run_of_a_message_in_one_request(fake_lt: FakeLibreTranslate) -> None:
    translator = make(fake_lt.url)
    rt = (
        Text("hello "),
        Mention("user", "U1"),
        Text(" world"),
        LineBreak(),
        Text("the mayor said "),
        Styled("bold", (Text("hello"),), "*"),
        LineBreak(),
        Link("https://x.y/z", "the plan"),
    )
    result = await translator.translate(rt, "en", "es")
    assert result.text == (
        Text("hola "),
        Mention("user", "U1"),
        Text(" mundo"),
        LineBreak(),
        Text("el alcaldesa said "),
        Styled("bold", (Text("hola"),), "*"),
        LineBreak(),
        Link("https://x.y/z", "el plano"),
    )
    assert fake_lt.count("/translate") == 1
    (body,) = [b for p, b in fake_lt.requests if p == "/translate"]
    assert body["q"] == ["hello [1] world", "the mayor said [1] hello [2]", "[1] the plan [2]"]
    assert body["format"] == "text"
    await translator.close()


async def test_batches_are_capped_by_batch_size(fake_lt: FakeLibreTranslate) -> None:
    translator = make(fake_lt.url, batch_size=2)
    rt = plain("hello\nworld\nmayor\nplan\nhello world")
    result = await translator.translate(rt, "en", "es")
    assert to_plain(result.text) == "hola\nmundo\nalcaldesa\nplano\nhola mundo"
    assert fake_lt.count("/translate") == 3
    await translator.close()


async def test_missing_pair_pivots_using_the_server_language_list(fake_lt: FakeLibreTranslate) -> None:
    fake_lt.pairs -= {("en", "pt"), ("pt", "en")}
    translator = make(fake_lt.url)
    assert await translator.route("en", "pt") == [("en", "es"), ("es", "pt")]
    result = await translator.translate(plain("hello world"), "en", "pt")
    assert to_plain(result.text) == "olá mundão"
    await translator.close()


async def test_unsupported_pair_reported_by_the_server_is_a_translation_error(fake_lt: FakeLibreTranslate) -> None:
    translator = make(fake_lt.url)
    await translator.route("en", "es")  # language list fetched while the server still offered en-es
    fake_lt.pairs.discard(("en", "es"))
    with pytest.raises(TranslationError, match="missing pair en-es"):
        await translator.translate(plain("hello"), "en", "es")
    await translator.close()


async def test_throttling_and_server_errors_are_retried(fake_lt: FakeLibreTranslate) -> None:
    translator = make(fake_lt.url, retries=3)
    await translator.route("en", "es")
    fake_lt.fail_next = [429, 503, 500]
    fake_lt.retry_after = "0"
    result = await translator.translate(plain("hello"), "en", "es")
    assert to_plain(result.text) == "hola"
    assert fake_lt.count("/translate") == 4
    await translator.close()


async def test_retries_give_up_with_a_translation_error(fake_lt: FakeLibreTranslate) -> None:
    translator = make(fake_lt.url, retries=2)
    await translator.route("en", "es")
    fake_lt.fail_next = [503, 503, 503, 503]
    with pytest.raises(TranslationError, match="http 503"):
        await translator.translate(plain("hello"), "en", "es")
    assert fake_lt.count("/translate") == 3
    await translator.close()


async def test_api_key_comes_from_the_environment_and_is_never_logged(
    fake_lt: FakeLibreTranslate, caplog: pytest.LogCaptureFixture
) -> None:
    fake_lt.api_key = "s3cret-key"
    caplog.set_level(logging.DEBUG)
    good = make(fake_lt.url, {"MY_LT_KEY": "s3cret-key"}, api_key_env="MY_LT_KEY")
    assert to_plain((await good.translate(plain("hello"), "en", "es")).text) == "hola"
    assert [b.get("api_key") for p, b in fake_lt.requests if p == "/translate"] == ["s3cret-key"]
    check = next(c for c in good.checks() if c.name.endswith("api key"))
    assert "MY_LT_KEY is set" in check.detail and "s3cret" not in check.detail
    bad = make(fake_lt.url, {"MY_LT_KEY": "wrong"}, api_key_env="MY_LT_KEY")
    with pytest.raises(TranslationError, match="forbidden"):
        await bad.translate(plain("hello"), "en", "es")
    assert "s3cret" not in caplog.text and "wrong" not in caplog.text
    await good.close()
    await bad.close()


async def test_a_slow_server_times_out(fake_lt: FakeLibreTranslate) -> None:
    translator = make(fake_lt.url, timeout=0.2, retries=0)
    await translator.route("en", "es")
    fake_lt.delay = 0.8
    with pytest.raises(TranslationError, match="timeout"):
        await translator.translate(plain("hello"), "en", "es")
    await translator.close()


async def test_a_server_that_is_down_is_a_translation_error() -> None:
    server = FakeLibreTranslate()
    url = await server.start()
    await server.stop()  # nothing listens on that port any more
    translator = make(url, retries=1)
    with pytest.raises(TranslationError, match="down"):
        await translator.translate(plain("hello"), "en", "es")
    await translator.close()


async def test_damaged_placeholders_fall_back_to_translating_pieces(fake_lt: FakeLibreTranslate) -> None:
    fake_lt.damage = True
    translator = make(fake_lt.url)
    rt = (Text("hello "), Mention("user", "U1"), Text(" world"))
    result = await translator.translate(rt, "en", "es")
    assert result.text == (Text("hola "), Mention("user", "U1"), Text(" mundo"))
    bodies = [b["q"] for p, b in fake_lt.requests if p == "/translate"]
    assert bodies == [["hello [1] world"], ["hello", "world"]]
    await translator.close()


async def test_glossary_is_respected(fake_lt: FakeLibreTranslate) -> None:
    translator = make(fake_lt.url)
    network = [GlossaryTerm("world", ()), GlossaryTerm("Housing First", (("es", "Vivienda Primero"),))]
    result = await translator.translate(plain("hello world, Housing First in Buenos Aires"), "en", "es", network)
    assert to_plain(result.text) == "hola world, Vivienda Primero in Buenos Aires"
    await translator.close()
