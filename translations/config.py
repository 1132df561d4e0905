"""The ``[translation]`` table of config.toml, checked up front.

Every key is validated when the translator is built, so a typo stops
``agora run`` with the dotted path of the key (``translation.argos.beam_size``)
instead of surfacing as a failed relay hours later. The keys are documented in
:mod:`translations` (the package docstring), which is what the README quotes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.languages import APERTIUM_MODES, DEFAULT_PIVOTS, LANGUAGES
from bot.settings import Table

BACKENDS: tuple[str, ...] = ("auto", "argos", "apertium", "libretranslate", "none")
DEFAULT_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
DEFAULT_APERTIUM_MODES: Mapping[str, str] = APERTIUM_MODES


@dataclass(frozen=True, slots=True)
class DetectSettings:
    """Below ``min_letters`` letters or ``min_confidence``, the channel's language wins."""

    min_letters: int = 15
    min_confidence: float = 0.8


@dataclass(frozen=True, slots=True)
class ArgosSettings:
    """Where the models are and how hard to decode (see the package docstring for each key)."""

    packages_dir: Path
    index_url: str = DEFAULT_INDEX_URL
    beam_size: int = 1
    threads: int = 1
    timeout: float = 60.0
    sentence_splitter: str = "regex"


@dataclass(frozen=True, slots=True)
class ApertiumSettings:
    """Which Apertium mode serves each direction; the defaults are the Americas' variants."""

    modes_dir: Path = Path("/usr/share/apertium/modes")
    modes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_APERTIUM_MODES))
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class LibreTranslateSettings:
    """A LibreTranslate server (or load balancer); the key itself stays in the environment."""

    url: str | None = None
    api_key_env: str = "LIBRETRANSLATE_API_KEY"
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    batch_size: int = 32


@dataclass(frozen=True, slots=True)
class TranslationSettings:
    """The whole ``[translation]`` table, validated."""

    backend: str
    pivots: tuple[str, ...]
    glossary: Path | None
    detect: DetectSettings
    argos: ArgosSettings
    apertium: ApertiumSettings
    libretranslate: LibreTranslateSettings


def default_packages_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where argostranslate itself looks, so packages installed by ``argospm`` are found too."""
    if environ.get("ARGOS_PACKAGES_DIR"):
        return Path(environ["ARGOS_PACKAGES_DIR"]).expanduser()
    data = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).expanduser() / "argos-translate" / "packages"


def parse_settings(raw: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> TranslationSettings:
    """Validate the raw table; ConfigError names the offending key."""
    t = Table(raw, "translation")
    t.only({"backend", "pivots", "glossary", "detect", "argos", "apertium", "libretranslate"})
    backend = t.choice("backend", BACKENDS, "auto")
    pivots = t.strings("pivots", DEFAULT_PIVOTS)
    for lang in pivots:
        if lang not in LANGUAGES:
            raise t.fail("pivots", f"{lang!r} is not one of {', '.join(LANGUAGES)}")
    glossary = t.path("glossary")

    d = t.sub("detect")
    d.only({"min_letters", "min_confidence"})
    detect = DetectSettings(
        min_letters=d.integer("min_letters", 15, minimum=0),
        min_confidence=d.number("min_confidence", 0.8, maximum=1.0),
    )

    a = t.sub("argos")
    a.only({"packages_dir", "index_url", "beam_size", "threads", "timeout", "sentence_splitter"})
    index_url = environ.get("AGORA_ARGOS_INDEX") or a.string("index_url", DEFAULT_INDEX_URL)
    argos = ArgosSettings(
        packages_dir=a.path("packages_dir") or default_packages_dir(environ),
        index_url=index_url,
        beam_size=a.integer("beam_size", 1, minimum=1),
        threads=a.integer("threads", 1, minimum=0),
        timeout=a.number("timeout", 60.0, positive=True),
        sentence_splitter=a.choice("sentence_splitter", ("regex", "minisbd"), "regex"),
    )

    p = t.sub("apertium")
    p.only({"modes_dir", "modes", "timeout"})
    modes = dict(DEFAULT_APERTIUM_MODES)
    m = p.sub("modes")
    for pair in m.raw:
        src, _, tgt = str(pair).partition("-")
        if src not in LANGUAGES or tgt not in LANGUAGES or src == tgt:
            raise m.fail(str(pair), "expected a pair like 'en-es'")
        modes[pair] = m.string(pair, "")
    apertium = ApertiumSettings(
        modes_dir=p.path("modes_dir") or Path("/usr/share/apertium/modes"),
        modes=modes,
        timeout=p.number("timeout", 10.0, positive=True),
    )

    lt = t.sub("libretranslate")
    lt.only({"url", "api_key_env", "timeout", "retries", "backoff", "batch_size"})
    url = lt.string("url", "") or None
    if url is not None and not url.startswith(("http://", "https://")):
        raise lt.fail("url", "must start with http:// or https://")
    libre = LibreTranslateSettings(
        url=url.rstrip("/") if url else None,
        api_key_env=lt.string("api_key_env", "LIBRETRANSLATE_API_KEY"),
        timeout=lt.number("timeout", 10.0, positive=True),
        retries=lt.integer("retries", 3, minimum=0),
        backoff=lt.number("backoff", 0.5),
        batch_size=lt.integer("batch_size", 32, minimum=1),
    )
    if backend == "libretranslate" and libre.url is None:
        raise ConfigError("translation.libretranslate.url: required when translation.backend = 'libretranslate'")
    return TranslationSettings(backend, pivots, glossary, detect, argos, apertium, libre)
