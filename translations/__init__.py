"""Machine translation for Agora: language detection, backends, cache, glossary.

The core finds this package through the ``agora.translators`` entry point
(``default = translations:create``) and only ever sees the
:class:`bot.ports.Translator` protocol.

Configuration, the ``[translation]`` table of config.toml (every key optional)::

    [translation]
    backend = "auto"        # auto | argos | apertium | libretranslate | none
                            # auto: argos if models are installed, else apertium if
                            # installed, else libretranslate if a url is set, else none
    pivots = ["es", "en"]   # languages tried, in order, when a backend lacks a direct pair
    glossary = "glossary.toml"  # extra terms ([[terms]] term = "...", es = "...", pt = "...")

    [translation.detect]
    min_letters = 15        # shorter messages take the channel's language
    min_confidence = 0.8    # so do messages the detector is unsure about

    [translation.argos]
    packages_dir = "~/.local/share/argos-translate/packages"  # default: $ARGOS_PACKAGES_DIR,
                            # else $XDG_DATA_HOME/argos-translate/packages (where argos looks)
    index_url = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
                            # package index for `agora models install`; env AGORA_ARGOS_INDEX wins
    beam_size = 1           # 1 = greedy, about twice as fast as argos's default 4
    threads = 1             # CTranslate2 intra-op threads (0 = all cores)
    timeout = 60            # seconds per engine call
    sentence_splitter = "regex"  # or "minisbd" (only for packages shipping minisbd/*.onnx)

    [translation.apertium]
    modes_dir = "/usr/share/apertium/modes"
    timeout = 10            # seconds per pipeline answer
    [translation.apertium.modes]  # direction -> Apertium mode; "" disables a direction
    en-es = "eng-spa"
    es-en = "spa-eng_US"
    es-pt = "es-pt_BR"
    pt-es = "pt-es"         # en<->pt has no Debian pair and pivots through es

    [translation.libretranslate]
    url = "http://127.0.0.1:5000"   # required for backend = "libretranslate"
    api_key_env = "LIBRETRANSLATE_API_KEY"  # name of the variable holding the key
    timeout = 10            # seconds per HTTP request
    retries = 3             # on 429, 5xx and connection errors, with exponential backoff
    backoff = 0.5           # first retry delay in seconds (Retry-After wins when sent)
    batch_size = 32         # texts per /translate request
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from typing import Any

from bot.passthrough import PassThrough
from bot.ports import Check, TranslationCache, Translator
from translations.config import TranslationSettings, parse_settings
from translations.detect import LanguageDetector
from translations.engine import Engine
from translations.glossary import Glossary
from translations.packages import installed_packages
from translations.translator import EngineTranslator

log = logging.getLogger(__name__)

__all__ = ["choose_backend", "create", "create_engine"]


def create(
    config: Mapping[str, Any], cache: TranslationCache, *, environ: Mapping[str, str] = os.environ
) -> Translator:
    """Build the configured translator; ConfigError names a bad key."""
    settings = parse_settings(config, environ)
    detector = LanguageDetector(settings.detect)
    detector.warm()
    glossary = Glossary.load(settings.glossary)
    backend = settings.backend
    reason = ""
    if backend == "auto":
        backend, reason = choose_backend(settings)
        log.info("translation backend: auto chose %s (%s)", backend, reason)
    if backend == "none":
        detail = reason or "translation.backend = 'none': messages are relayed untranslated"
        fix = "install models (`agora models install`) or Apertium, or configure LibreTranslate"
        return PassThrough(detector.detect, Check("translation: none", True, detail, fix))
    engine = create_engine(backend, settings, environ)
    return EngineTranslator(engine, cache, detector=detector, glossary=glossary, pivots=settings.pivots)


def choose_backend(settings: TranslationSettings) -> tuple[str, str]:
    """The first backend that can work here, and why."""
    packages = installed_packages(settings.argos.packages_dir)
    if packages:
        return "argos", f"{len(packages)} model packages in {settings.argos.packages_dir}"
    from translations.backends.apertium import ApertiumEngine

    if shutil.which("lt-proc") and ApertiumEngine(settings.apertium).available():
        return "apertium", f"Apertium modes in {settings.apertium.modes_dir}"
    if settings.libretranslate.url:
        return "libretranslate", f"server {settings.libretranslate.url}"
    return "none", "no argos models, no Apertium, no LibreTranslate url: messages are relayed untranslated"


def create_engine(backend: str, settings: TranslationSettings, environ: Mapping[str, str] = os.environ) -> Engine:
    if backend == "argos":
        from translations.backends.argos import ArgosEngine

        return ArgosEngine(settings.argos)
    if backend == "apertium":
        from translations.backends.apertium import ApertiumEngine

        return ApertiumEngine(settings.apertium)
    if backend == "libretranslate":
        from translations.backends.libretranslate import LibreTranslateEngine

        return LibreTranslateEngine(settings.libretranslate, environ)
    raise ValueError(f"unknown backend {backend!r}")
