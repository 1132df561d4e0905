"""Translation figures, printed as JSON (behind ``agora bench translation_speed``).

- detection: accuracy per language on the development set, with no channel
  language, and with a *wrong* one (the text must still win), plus latency;
- latency per backend (p50/p99 per message, no cache) on the tiny generated
  Argos models, on Apertium when installed, on a local fake LibreTranslate
  (the HTTP client's own cost), and on real Argos models if any are installed;
- cache: the cost of a message whose pieces are all cached, against a cold one.

Tiny models measure our pipeline (protection, batching, threading, CTranslate2
calls), not translation quality; real models are ~100 ms per sentence on one
core (notes/translation.md §6).

Run: ``python -m benchmarks.translation_speed``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.ports import TranslationCache
from bot.richtext import RichText, plain
from translations import create
from translations.cache import MemoryCache, NullCache
from translations.config import default_packages_dir
from translations.detect import LanguageDetector
from translations.models import install_files
from translations.packages import installed_packages
from translations.translator import EngineTranslator

REPO = Path(__file__).resolve().parents[1]
DEV_SETS = (
    REPO / "tests" / "data" / "dev_topics.jsonl",
    REPO.parent / "shared" / "data" / "dev_topics.jsonl",
)
SHORT = [("valeu!", "pt"), ("dale", "es"), ("sim, claro", "pt"), ("thx", "en"), ("gracias a todos", "es")]
PAIRS = [("en", "es"), ("es", "en"), ("es", "pt"), ("pt", "es"), ("en", "pt"), ("pt", "en")]


def _rows() -> list[dict[str, str]]:
    for path in DEV_SETS:
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
    raise FileNotFoundError("dev_topics.jsonl not found")


def _ms(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3), "p99_ms": round(p99 * 1000, 3)}


def detection(rows: list[dict[str, str]]) -> dict[str, Any]:
    detector = LanguageDetector()
    detector.detect("warm up the model", None)
    wrong = {"en": "es", "es": "pt", "pt": "es"}
    out: dict[str, Any] = {}
    for label, prior_of in (("no_prior", lambda _: None), ("wrong_prior", wrong.get)):
        per: dict[str, list[bool]] = {}
        times = []
        for row in rows:
            start = time.perf_counter()
            got = detector.detect(row["text"], prior_of(row["lang"]))
            times.append(time.perf_counter() - start)
            per.setdefault(row["lang"], []).append(got == row["lang"])
        acc = {lang: round(sum(v) / len(v), 4) for lang, v in sorted(per.items())}
        acc["overall"] = round(sum(sum(v) for v in per.values()) / len(rows), 4)
        out[f"accuracy_{label}"] = acc
        out[f"latency_{label}"] = _ms(times)
    out["short_messages_with_channel_prior"] = sum(detector.detect(t, lang) == lang for t, lang in SHORT) / len(SHORT)
    out["messages"] = len(rows)
    return out


async def _latency(
    make: Callable[[TranslationCache], Any], messages: dict[str, list[RichText]], pairs: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    translator = make(NullCache())
    out: dict[str, Any] = {"backend": translator.name}
    try:
        for source, target in pairs:
            times = []
            for rt in messages[source]:
                start = time.perf_counter()
                await translator.translate(rt, source, target)
                times.append(time.perf_counter() - start)
            out[f"{source}-{target}"] = _ms(times)
    finally:
        await translator.close()
    return out


async def _cache_cost(make: Callable[[TranslationCache], Any], messages: list[RichText]) -> dict[str, Any]:
    translator = make(MemoryCache())
    assert isinstance(translator, EngineTranslator)
    try:
        cold, warm = [], []
        for rt in messages:
            start = time.perf_counter()
            await translator.translate(rt, "en", "pt")
            cold.append(time.perf_counter() - start)
        calls = translator.engine_calls
        for rt in messages:
            start = time.perf_counter()
            await translator.translate(rt, "en", "pt")
            warm.append(time.perf_counter() - start)
        return {
            "cold": _ms(cold),
            "cached": _ms(warm),
            "engine_calls_cold": calls,
            "engine_calls_cached": translator.engine_calls - calls,
        }
    finally:
        await translator.close()


async def _backends(rows: list[dict[str, str]], work: Path, per_lang: int, real: Path) -> dict[str, Any]:
    messages = {lang: [plain(r["text"]) for r in rows if r["lang"] == lang][:per_lang] for lang in ("en", "es", "pt")}
    out: dict[str, Any] = {}

    from testing import tiny_argos as tiny

    packages = work / "tiny-packages"
    install_files(list(tiny.build_packages(work / "tiny-build").values()), packages)

    def tiny_argos(cache: TranslationCache) -> Any:
        return create({"backend": "argos", "argos": {"packages_dir": str(packages)}}, cache)

    out["argos_tiny"] = await _latency(tiny_argos, messages, PAIRS)
    out["cache_argos_tiny"] = await _cache_cost(tiny_argos, messages["en"])

    if installed_packages(real):

        def real_argos(cache: TranslationCache) -> Any:
            return create({"backend": "argos", "argos": {"packages_dir": str(real)}}, cache)

        few = {lang: msgs[:5] for lang, msgs in messages.items()}
        out["argos_installed"] = await _latency(real_argos, few, PAIRS)

    if shutil.which("lt-proc") and Path("/usr/share/apertium/modes/eng-spa.mode").exists():

        def apertium(cache: TranslationCache) -> Any:
            return create({"backend": "apertium"}, cache)

        out["apertium"] = await _latency(apertium, messages, PAIRS)

    from testing.fake_libretranslate import FakeLibreTranslate

    fake = FakeLibreTranslate()
    url = await fake.start()
    try:

        def libre(cache: TranslationCache) -> Any:
            return create({"backend": "libretranslate", "libretranslate": {"url": url}}, cache)

        out["libretranslate_local_fake"] = await _latency(libre, messages, PAIRS)
        out["cache_libretranslate_local_fake"] = await _cache_cost(libre, messages["en"])
    finally:
        await fake.stop()
    return out


def run(per_lang: int = 20) -> dict[str, Any]:
    """All figures as one JSON-ready dict."""
    rows = _rows()
    real = default_packages_dir()  # before the benchmark points XDG_DATA_HOME elsewhere
    figures: dict[str, Any] = {"detection": detection(rows)}
    with tempfile.TemporaryDirectory(prefix="agora-bench-translation-") as tmp:
        work = Path(tmp)
        from testing.tiny_argos import argos_home

        with argos_home(work / "home"):
            figures["backends"] = asyncio.run(_backends(rows, work, per_lang, real))
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
