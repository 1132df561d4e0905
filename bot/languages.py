"""The languages and channel modes Agora speaks, each listed once.

Every other list derives from these tables: the config checks, the command
choices, the topic stemmers, the UI catalogs (``bot/locales/<code>.toml``), the
translator's pairs and pivots, the platform locale mappings. Adding a language is
a row here plus its data files (see "Adding a language" in the README).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    """One language: its code, its own name, and what each part of Agora calls it."""

    code: str  # ISO 639-1, the code in config.toml, the store and the catalogs
    native: str  # the language's name for itself (UI names in each language live in the catalogs' [lang])
    stemmer: str  # the Snowball stemmer (snowballstemmer / PyStemmer) the topic tagger uses
    slack_locales: tuple[str, ...]  # Slack user locales that read this language
    discord_locales: tuple[str, ...]  # Discord client locales that read this language (discord.Locale values)
    apertium_modes: tuple[tuple[str, str], ...] = ()  # (target code, Apertium mode) for the default Debian pairs


LANGUAGE_TABLE: tuple[Language, ...] = (
    Language("en", "English", "english", ("en-US", "en-GB"), ("en-US", "en-GB"), (("es", "eng-spa"),)),
    Language(
        "es", "Español", "spanish", ("es-ES", "es-LA"), ("es-ES", "es-419"), (("en", "spa-eng_US"), ("pt", "es-pt_BR"))
    ),
    Language("pt", "Português", "portuguese", ("pt-BR",), ("pt-BR",), (("es", "pt-es"),)),
)
BY_CODE: dict[str, Language] = {lang.code: lang for lang in LANGUAGE_TABLE}
LANGUAGES: tuple[str, ...] = tuple(lang.code for lang in LANGUAGE_TABLE)

# Languages a translator tries, in order, when an engine lacks a direct pair (translation.pivots).
DEFAULT_PIVOTS: tuple[str, ...] = ("es", "en")
# Every ordered pair of distinct languages: what a complete translator serves.
PAIRS: tuple[tuple[str, str], ...] = tuple((a, b) for a in LANGUAGES for b in LANGUAGES if a != b)
# The default Apertium mode of each direction Debian packages ("en-es" -> "eng-spa").
APERTIUM_MODES: dict[str, str] = {
    f"{lang.code}-{target}": mode for lang in LANGUAGE_TABLE for target, mode in lang.apertium_modes
}


@dataclass(frozen=True, slots=True)
class Mode:
    """A channel mode: what Agora relays from a linked channel."""

    name: str
    summary: str


MODE_TABLE: tuple[Mode, ...] = (
    Mode("questions", "only /ask questions and the replies in their threads travel"),
    Mode("mirror", "every top-level post travels too"),
)
MODES: tuple[str, ...] = tuple(mode.name for mode in MODE_TABLE)
