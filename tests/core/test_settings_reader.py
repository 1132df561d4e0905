"""The one config reader (bot/settings.py) and the one language table (bot/languages.py), issue 16."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import snowballstemmer

from bot.commands import COMMANDS
from bot.errors import ConfigError
from bot.i18n import LOCALE_DIR, default_catalog, language_of
from bot.languages import APERTIUM_MODES, BY_CODE, LANGUAGE_TABLE, LANGUAGES, MODES, PAIRS
from bot.settings import Table, read_dataclass

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Example:
    enabled: bool = True
    port: int = 80
    pace: float = 1.0
    name: str = "x"
    hosts: tuple[str, ...] = ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"enabled": "yes"}, "adapters.example.enabled: expected true or false, got 'yes'"),
        ({"port": "80"}, "adapters.example.port: expected a whole number, got '80'"),
        ({"port": True}, "adapters.example.port: expected a whole number, got True"),
        ({"pace": "fast"}, "adapters.example.pace: expected a number, got 'fast'"),
        ({"name": 3}, "adapters.example.name: expected a string, got 3"),
        ({"hosts": "a"}, "adapters.example.hosts: expected a list of strings, got 'a'"),
        ({"colour": 1}, "adapters.example.colour: unknown key (expected one of enabled, hosts, name, pace, port)"),
    ],
)
def test_a_declared_section_names_the_full_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        read_dataclass(Example, table, "adapters.example")
    assert str(err.value) == message


def test_a_declared_section_reads_every_type() -> None:
    got = read_dataclass(Example, {"port": 8080, "pace": 2, "hosts": ["a"], "enabled": False}, "adapters.example")
    assert got == Example(enabled=False, port=8080, pace=2.0, hosts=("a",))
    assert isinstance(got.pace, float)


def test_table_reads_nested_keys_with_their_full_name() -> None:
    top = Table({"outer": {"inner": {"n": -1}}, "s": "b"})
    inner = top.sub("outer").sub("inner")
    with pytest.raises(ConfigError, match=r"^outer\.inner\.n: must be at least 0$"):
        inner.integer("n", 0, minimum=0)
    with pytest.raises(ConfigError, match=r"^outer\.inner\.m: is required$"):
        inner.integer("m")
    with pytest.raises(ConfigError, match=r"^s: 'b' is not one of a, c$"):
        top.choice("s", ("a", "c"))
    with pytest.raises(ConfigError, match=r"^outer\.inner: expected a table"):
        Table({"inner": 3}, "outer").sub("inner")


# ------------------------------------------------------------------ the language table


def test_every_language_has_its_catalog_and_its_name_in_every_catalog() -> None:
    catalog = default_catalog()
    for lang in LANGUAGES:
        assert (LOCALE_DIR / f"{lang}.toml").exists()
        for reader in LANGUAGES:
            assert catalog.strings[reader].get(f"lang.{lang}"), (reader, lang)


def test_every_language_has_a_snowball_stemmer_and_topic_names() -> None:
    for lang in LANGUAGE_TABLE:
        assert snowballstemmer.stemmer(lang.stemmer).stemWord("x") is not None
    for topic in (ROOT / "bot" / "data" / "topics").glob("[!_]*.toml"):
        names = tomllib.loads(topic.read_text())["names"]
        assert set(LANGUAGES) <= set(names), topic.name


def test_the_command_table_and_the_translator_derive_from_the_tables() -> None:
    choices = {spec.name: spec.args[0].choices for spec in COMMANDS if spec.name in ("lang", "mode")}
    assert choices == {"lang": LANGUAGES, "mode": MODES}
    assert set(PAIRS) == {(a, b) for a in LANGUAGES for b in LANGUAGES if a != b}
    assert APERTIUM_MODES == {"en-es": "eng-spa", "es-en": "spa-eng_US", "es-pt": "es-pt_BR", "pt-es": "pt-es"}


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("pt-BR", "pt"), ("es-419", "es"), ("es-LA", "es"), ("en_US", "en"), ("fr-FR", "es"), (None, "es")],
)
def test_platform_locales_map_to_a_language(locale: str | None, lang: str) -> None:
    assert language_of(locale, "es") == lang
    assert all(code in BY_CODE for code in LANGUAGES)
