"""UI strings in the caller's language, from TOML catalogs beside this module.

Catalogs are flat ``key = "text"`` tables with ``{name}`` placeholders. A
missing key falls back to English and is logged, but the test suite fails on any
key that is not in every catalog, so that never ships.
"""

from __future__ import annotations

import logging
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.languages import LANGUAGE_TABLE, LANGUAGES

log = logging.getLogger(__name__)
LOCALE_DIR = Path(__file__).with_name("locales")


@dataclass(frozen=True, slots=True)
class Catalog:
    """All UI strings, per language."""

    strings: dict[str, dict[str, str]]

    @classmethod
    def load(cls, directory: Path = LOCALE_DIR) -> Catalog:
        strings: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            with (directory / f"{lang}.toml").open("rb") as fh:
                strings[lang] = _flatten(tomllib.load(fh))
        return cls(strings)

    def t(self, key: str, lang: str, **params: object) -> str:
        """The string ``key`` in ``lang`` (English if either is unknown), filled with ``params``."""
        table = self.strings.get(lang) or self.strings["en"]
        template = table.get(key)
        if template is None:
            log.warning("catalog key %s missing for %s", key, lang)
            template = self.strings["en"].get(key, key)
        try:
            return template.format_map(_Defaulting(params))
        except (ValueError, IndexError):
            return template

    def placeholders(self, key: str, lang: str) -> set[str]:
        """Names used in a template: lets the catalog test check the languages agree."""
        template = self.strings[lang].get(key, "")
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Defaulting(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = str(value)
    return out


@cache
def default_catalog() -> Catalog:
    """The shipped catalog, loaded once."""
    return Catalog.load()


def language_of(locale: str | None, fallback: str) -> str:
    """Map a platform locale (``pt-BR``, ``es-419``, ``en_US``) to one of Agora's languages.

    A locale listed in the language table wins; otherwise its language part is tried.
    """
    if locale:
        tag = locale.replace("_", "-")
        for lang in LANGUAGE_TABLE:
            if tag in lang.slack_locales or tag in lang.discord_locales:
                return lang.code
        code = tag.split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return fallback
