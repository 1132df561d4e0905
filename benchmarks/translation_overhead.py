"""What Agora's translation layer costs over its engines: ``agora bench translation_overhead``.

Per backend, the same chat messages go two ways:

- Agora: ``translations.create(...)`` with a fresh, empty cache each pass, so
  every message is a miss; ``detect()`` on the message, then ``translate()``
  with a network glossary (markup and glossary protection, cache keys, the
  engine call, reassembly);
- raw: the same engine with no Agora layer on the message's words alone (the
  markup has nowhere to go without that layer). Apertium: the same long-lived
  mode pipelines, fed escaped text at their lowest level (write, drain, read
  to NUL). Argos: CTranslate2 ``translate_batch`` (beam 1) on the tiny models'
  SentencePiece tokens, then decode. The text is cut at sentence ends first,
  as every Argos path does, so both sides decode the same sentences: a whole
  message as one sequence decodes ~30% slower, which would flatter Agora, and
  past 256 tokens (CTranslate2's default limit) comes back cut short.

Messages are the development set's, each wrapped in a mention, a link, inline
code and an emoji, sent in a relay's direct directions (en->es, es->en and
es->pt, pt->es): a pivot costs both paths the same second hop. The paths take
turns on every message, so noise and drift hit both alike.
``cost_ratio`` is raw_per_s / agora_per_s; the target is <= 1.2.

Needs the repository checkout (the tiny models are built by
testing/tiny_argos.py). Run: ``agora bench translation_overhead --json`` or
``python -m benchmarks.translation_overhead``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.ports import GlossaryTerm
from bot.richtext import Code, Emoji, Link, Mention, RichText, Text, to_plain
from translations import create
from translations.backends.apertium import SUPERBLANKS, ApertiumEngine, Pipe
from translations.cache import MemoryCache
from translations.config import parse_settings
from translations.detect import LanguageDetector
from translations.packages import installed_packages
from translations.translator import EngineTranslator

REPO = Path(__file__).resolve().parents[1]
DEV_SETS = (
    REPO / "tests" / "data" / "dev_topics.jsonl",
    REPO.parent / "shared" / "data" / "dev_topics.jsonl",
)
# Where a relay sends each language, rotating; all direct pairs for Apertium and the tiny Argos models.
TARGETS = {"en": ("es",), "es": ("en", "pt"), "pt": ("es",)}
# A network's own terms, on top of the shipped glossary (PIT, HUD, 311, city names...).
GLOSSARY = (
    GlossaryTerm("Housing First"),
    GlossaryTerm("open data", (("en", "open data"), ("es", "datos abiertos"), ("pt", "dados abertos"))),
)
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: as Agora receives it, and the words alone for the raw engine."""

    rich: RichText
    words: str
    source: str
    target: str


def dev_rows() -> list[dict[str, str]]:
    for path in DEV_SETS:
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
    raise FileNotFoundError("dev_topics.jsonl not found")


def wrap(text: str, index: int) -> RichText:
    """The words with a mention before, a link after the first sentence, code and an emoji at the end."""
    first, _, rest = text.partition(". ")
    head, tail = (first + ".", rest) if rest else (text, "")
    out: list[Any] = [Mention("user", f"U{index:04d}", "Ana"), Text(" " + head + " ")]
    out.append(Link(f"https://data.city.example/reports/{index}"))
    if tail:
        out.append(Text(" " + tail))
    out.extend((Text(" "), Code("agora status --all"), Text(" "), Emoji("tada")))
    return tuple(out)


def messages(rows: Sequence[dict[str, str]], detector: LanguageDetector) -> list[Message]:
    """The dev-set messages whose language is detected right (so both paths translate the same pair)."""
    out: list[Message] = []
    turn: dict[str, int] = {}
    for i, row in enumerate(rows):
        lang = row["lang"]
        rich = wrap(row["text"], i)
        if lang not in TARGETS or detector.detect(to_plain(rich), lang) != lang:
            continue
        k = turn.get(lang, 0)
        turn[lang] = k + 1
        out.append(Message(rich, row["text"], lang, TARGETS[lang][k % len(TARGETS[lang])]))
    return out


# ------------------------------------------------------------------ raw engines


class RawApertium:
    """The mode pipelines with nothing around them: one escaped text in, one out."""

    def __init__(self) -> None:
        self.engine = ApertiumEngine(parse_settings({}, os.environ).apertium)
        self.pipes: dict[tuple[str, str], Pipe] = {}

    async def translate(self, text: str, source: str, target: str) -> str:
        pipe = self.pipes.get((source, target))
        if pipe is None:
            path = self.engine.mode_file((source, target))
            assert path is not None, f"no Apertium mode for {source}-{target}"
            pipe = Pipe(path.stem, path, self.engine.settings.timeout)
            pipe.proc = await pipe._start()
            self.pipes[(source, target)] = pipe
        assert pipe.proc is not None
        return await Pipe._exchange(pipe.proc, SUPERBLANKS.escape(text))

    async def close(self) -> None:
        for pipe in self.pipes.values():
            await pipe.stop()


class RawArgos:
    """CTranslate2 and SentencePiece straight from the installed packages."""

    def __init__(self, packages_dir: Path) -> None:
        import ctranslate2
        import sentencepiece as spm

        self.models: dict[tuple[str, str], tuple[Any, Any]] = {}
        for pkg in installed_packages(packages_dir):
            translator = ctranslate2.Translator(str(pkg.path / "model"), device="cpu", inter_threads=1, intra_threads=1)
            sp = spm.SentencePieceProcessor(model_file=str(pkg.path / "sentencepiece.model"))
            self.models[pkg.pair] = (translator, sp)

    async def translate(self, text: str, source: str, target: str) -> str:
        translator, sp = self.models[(source, target)]
        sentences = [s for s in SENTENCE_END.split(text) if s.strip()]
        tokens = [sp.encode(s, out_type=str) for s in sentences]
        results = translator.translate_batch(tokens, beam_size=1)
        return " ".join(sp.decode_pieces(r.hypotheses[0]) for r in results)

    async def close(self) -> None:
        self.models.clear()


# ------------------------------------------------------------------ timing


async def compare(
    agora: EngineTranslator,
    raw: RawApertium | RawArgos,
    batch: Sequence[Message],
    *,
    seconds: float = 2.0,
    warmup: int = 10,
    minimum: int = 1,
) -> dict[str, Any]:
    """Rates of both paths over ``batch`` (cycled), until each has run ``seconds`` and ``minimum`` messages.

    The two paths take turns on every message, the first alternating, so a noisy neighbour or a
    change of CPU clock costs both the same.
    """

    async def agora_step(msg: Message) -> object:
        source = agora.detect(to_plain(msg.rich), msg.source)
        return await agora.translate(msg.rich, source, msg.target, GLOSSARY)

    async def raw_step(msg: Message) -> object:
        return await raw.translate(msg.words, msg.source, msg.target)

    for msg in batch[:warmup]:
        await agora_step(msg)
        await raw_step(msg)
    steps = (("agora", agora_step), ("raw", raw_step))
    times: dict[str, list[float]] = {"agora": [], "raw": []}
    total = dict.fromkeys(times, 0.0)
    calls = agora.engine_calls
    n = 0
    while n < minimum or min(total.values()) < seconds:
        msg = batch[n % len(batch)]
        if n % len(batch) == 0:
            agora.cache = MemoryCache()  # every message a miss again
        for name, step in steps if n % 2 == 0 else steps[::-1]:
            start = time.perf_counter()
            await step(msg)
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            total[name] += elapsed
        n += 1
    agora_rate = n / total["agora"]
    raw_rate = n / total["raw"]
    return {
        "agora_per_s": round(agora_rate, 1),
        "raw_per_s": round(raw_rate, 1),
        "cost_ratio": round(raw_rate / agora_rate, 3),
        "n": n,
        "agora_p50_ms": round(statistics.median(times["agora"]) * 1000, 3),
        "raw_p50_ms": round(statistics.median(times["raw"]) * 1000, 3),
        "engine_calls_per_message": round((agora.engine_calls - calls) / n, 3),
        "directions": sorted({f"{m.source}-{m.target}" for m in batch[: min(n, len(batch))]}),
    }


def apertium_missing() -> str | None:
    """Why the Apertium comparison cannot run here, or None."""
    if shutil.which("lt-proc") is None:
        return "lt-proc not on PATH (apt-get install apertium apertium-eng-spa apertium-es-pt)"
    engine = ApertiumEngine(parse_settings({}, os.environ).apertium)
    missing = sorted(f"{a}-{b}" for a, targets in TARGETS.items() for b in targets if (a, b) not in engine.available())
    if missing:
        return f"no Apertium mode for {', '.join(missing)} in {engine.settings.modes_dir}"
    return None


async def measure(
    backend: str,
    batch: Sequence[Message],
    *,
    packages_dir: Path | None = None,
    seconds: float = 2.0,
    warmup: int = 10,
    minimum: int = 1,
) -> dict[str, Any]:
    """One backend's figures: ``apertium``, or ``argos`` on the packages in ``packages_dir``."""
    raw: RawApertium | RawArgos
    if backend == "apertium":
        reason = apertium_missing()
        if reason:
            return {"skipped": reason}
        config: dict[str, Any] = {"backend": "apertium"}
        raw = RawApertium()
    elif backend == "argos":
        have = {pkg.pair for pkg in installed_packages(packages_dir)} if packages_dir else set()
        missing = sorted({f"{m.source}-{m.target}" for m in batch if (m.source, m.target) not in have})
        if missing:
            return {"skipped": f"no Argos package for {', '.join(missing)} in {packages_dir}"}
        assert packages_dir is not None
        config = {"backend": "argos", "argos": {"packages_dir": str(packages_dir)}}
        raw = RawArgos(packages_dir)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    agora = create(config, MemoryCache())
    assert isinstance(agora, EngineTranslator)
    try:
        figures = await compare(agora, raw, batch, seconds=seconds, warmup=warmup, minimum=minimum)
    finally:
        await agora.close()
        await raw.close()
    return figures


# ------------------------------------------------------------------ setup


def tiny_packages(work: Path) -> Path:
    """The tiny en-es, es-en, es-pt, pt-es models, installed under ``work``."""
    from testing.tiny_argos import argos_home, build_packages
    from translations.backends.argos import argos_runtime
    from translations.models import install_files

    packages = work / "packages"
    for path, pkg, status in install_files(list(build_packages(work / "build").values()), packages):
        if pkg is None:
            raise RuntimeError(f"{path.name}: {status}")
    with argos_home(work / "home"):
        argos_runtime(parse_settings({"argos": {"packages_dir": str(packages)}}, os.environ).argos)
    return packages


def run(seconds: float = 2.0) -> dict[str, Any]:
    """Both backends' figures as one JSON-ready dict, keyed by backend."""
    detector = LanguageDetector()
    detector.warm()
    batch = messages(dev_rows(), detector)
    with tempfile.TemporaryDirectory(prefix="agora-bench-translate-") as tmp:
        packages = tiny_packages(Path(tmp))
        return {
            "apertium": asyncio.run(measure("apertium", batch, seconds=seconds)),
            "argos": asyncio.run(measure("argos", batch, packages_dir=packages, seconds=seconds)),
        }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
