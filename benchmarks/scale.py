"""Report, search and memory as history grows: ``agora bench scale``.

A SQLite history is grown with synthetic messages written straight through the
store (about 1,000 a day across 300 city channels of one network, a third of
them questions, the rest replies in their threads; questions tagged with 0-2 topics, replies
with their question's),
to 10,000, 100,000 and 1,000,000 messages. At each size:

- ``report_ms``: the 30-day hot-topics figures computed as ``/agora topics 30``
  computes them (median of 5), without the chart; ``topics_command_ms``: the
  whole ``/agora topics 30`` over HTTP to a running ``agora run``, chart included;
- ``search_p50_ms``: ``/agora search`` over HTTP (no translation engine, so
  the query's own words; 20 queries of one or two words);
- ``channels_wait_max_ms`` (and p99): the slowest plain ``GET /api/channels``
  answered while reports were being computed (polled back to back during
  ``REPORTS`` reports, so a few thousand requests and a p99 that is not one of a
  handful); ``channels_idle_*``: the same with no report running, polled for as
  long right after each report, so that both see the same load of the machine;
- ``rss_mb``: the bot process's resident memory after those requests.

Then ``replicas``: relay throughput with 1, 2 and 4 ``agora run`` processes on one database,
as ratios to one (:mod:`benchmarks.replicas`; ``--replicas ""`` leaves it out).

Needs nothing but the core; takes a few minutes at 1,000,000 messages
(``--sizes 10000,100000`` for a quicker run). Run: ``agora bench scale --json``
or ``python -m benchmarks.scale [--sizes ...] [--backend postgresql]`` (the same on a private
PostgreSQL cluster; needs agora[postgres] and Debian's ``postgresql``). ``--keep DIR`` keeps the
grown history (the SQLite file, or the cluster's directory) and grows on from it next time: a 1M
history takes minutes to grow and seconds to measure again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DAY = 86400.0
PER_DAY = 1000
REPORTS = 10  # reports run while GET /api/channels is polled back to back
CHANNELS = 300
COUNTRIES = ["US", "CA", "MX", "GT", "CR", "CO", "BR", "AR", "CL", "PE"]
DOMAIN_WORDS = (
    "housing shelter budget transit bus rail climate flood heat data privacy portal broadband equity cyber "
    "ransomware police safety engagement survey vivienda presupuesto transporte clima datos privacidad "
    "seguridad moradia orçamento dados segurança participação enchente calor ônibus metrô permit zoning rent "
    "eviction pilot vendor procurement contract training staff council ordinance"
)


def vocabulary(rng: random.Random, size: int = 5000) -> tuple[list[str], list[float]]:
    """Words with Zipf-like frequencies: made-up filler words, with the domain words among the
    moderately common ones (each in roughly 1-3 % of messages, as topic words are in real chat)."""
    syllables = ["ka", "lo", "mi", "ter", "sa", "pu", "ne", "ro", "di", "va", "ción", "ão", "ing", "ly", "tor"]
    words = list(dict.fromkeys("".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(size * 2)))
    words = words[:size]
    for rank, word in enumerate(DOMAIN_WORDS.split()):
        words.insert(40 + rank * 3, word)
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    return words, weights


QUERIES = [
    "housing",
    "ransomware",
    "flood heat",
    "vivienda",
    "moradia",
    "zoning rent",
    "broadband",
    "procurement",
    "privacidad",
    "transit bus",
]


def grow(path: Path | str, end: float, have: int, want: int, rng: random.Random) -> None:
    """Add messages ``have``..``want``, message i at ``end - i * 86400/PER_DAY``: the history grows back in
    time, so its newest message stays a moment old whatever the size (the bot runs on the real clock)."""
    from bot.events import ChannelRef
    from bot.richtext import plain
    from bot.store import Store, open_database
    from bot.topics import default_tagger

    topic_slugs = [topic.slug for topic in default_tagger().topics]
    db = open_database(path)
    clock = [end]
    store = Store(db, lambda: clock[0])
    questions: dict[int, list[str]] = {
        r[0]: json.loads(r[1])
        for r in db.execute(
            "select id, topics from messages where root_id is null order by id desc limit 400"
        ).fetchall()
    }
    if store.network("demo") is None:
        store.create_network("demo", "BENCH")
    step = DAY / PER_DAY
    words, weights = vocabulary(random.Random(1))
    try:
        for batch in range(have, want, 10_000):
            with store.transaction():
                for i in range(batch, min(batch + 10_000, want)):
                    clock[0] = end - i * step
                    city = rng.randrange(CHANNELS)
                    reply = questions and rng.random() < 0.67
                    root = rng.choice(list(questions)[-200:]) if reply else None
                    # Replies inherit their question's topics (as the tagger does), now and then one more.
                    topics = (
                        rng.sample(topic_slugs, rng.choice((0, 1, 1, 2))) if root is None else list(questions[root])
                    )
                    if root is not None and rng.random() < 0.1:
                        topics = list(dict.fromkeys([*topics, rng.choice(topic_slugs)]))
                    mid = store.add_message(
                        network="demo",
                        channel=ChannelRef("web", "demo", f"city{city}"),
                        platform_id=f"p{i}",
                        root_id=root,
                        kind="reply" if root else "question",
                        author_id=f"u{rng.randrange(2000)}",
                        author_name="Synthetic",
                        author_avatar=None,
                        city=f"City {city}",
                        country=COUNTRIES[city % len(COUNTRIES)],
                        text=plain(" ".join(rng.choices(words, weights, k=rng.randint(6, 30)))),
                        lang=("en", "es", "pt")[city % 3],
                        topics=topics,
                    )
                    if root is None:
                        questions[mid] = topics
                        if len(questions) > 400:
                            del questions[next(iter(questions))]
    finally:
        db.close()


def report_ms(path: Path | str, now: float) -> float:
    from bot.i18n import default_catalog
    from bot.report import Reports
    from bot.store import Store, open_read_database
    from bot.topics import default_tagger

    store = Store(open_read_database(path))
    reports = Reports(store, default_tagger(), default_catalog(), clock=lambda: now)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        reports.render(reports.hot_topics("demo", 30), 30, "en")
        times.append((time.perf_counter() - started) * 1000)
    store.db.close()
    return round(statistics.median(times), 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(workdir: Path, path: Path | str, port: int) -> Path:
    config = workdir / "config.toml"
    channels = "\n".join(
        f'[[networks.channels]]\nref = "web:demo/{cid}"\ncity = "{city}"\ncountry = "{country}"\nlang = "{lang}"\n'
        for cid, city, country, lang in (
            ("boston", "Boston", "US", "en"),
            ("guadalajara", "Guadalajara", "MX", "es"),
            ("recife", "Recife", "BR", "pt"),
        )
    )
    config.write_text(
        f'[agora]\ndatabase = "{path}"\n\n[translation]\nbackend = "none"\n\n[similar]\nenabled = false\n\n'
        f'[adapters.web]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n\n[[networks]]\nname = "demo"\n\n'
        + channels,
        encoding="utf-8",
    )
    return config


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def http_figures(port: int, pid: int) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(base_url=base) as session:
        deadline = time.monotonic() + 120
        while True:
            try:
                async with session.get("/api/channels") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("agora run did not come up")
            await asyncio.sleep(0.2)

        async def command(text: str) -> float:
            started = time.perf_counter()
            async with session.post("/api/channels/boston/messages", json={"user": "Bench", "text": text}) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            return (time.perf_counter() - started) * 1000

        await command("/agora topics 30")  # warm: matplotlib, the reader's connection
        searches = [await command(f"/agora search {QUERIES[i % len(QUERIES)]}") for i in range(20)]

        async def probe() -> float:
            started = time.perf_counter()
            async with session.get("/api/channels") as resp:
                await resp.read()
            return (time.perf_counter() - started) * 1000

        topics: list[float] = []
        waits: list[float] = []
        idle: list[float] = []  # the same requests with no report running: the machine's own noise
        for _ in range(REPORTS):
            report = asyncio.create_task(command("/agora topics 30"))
            began = time.perf_counter()
            while not report.done():
                waits.append(await probe())
            topics.append(await report)
            # As long again without a report, right after it: on a shared machine the load changes
            # from minute to minute, so the noise is measured beside what it is compared with.
            quiet_until = time.perf_counter() + (time.perf_counter() - began)
            while time.perf_counter() < quiet_until:
                idle.append(await probe())
        return {
            "search_p50_ms": round(statistics.median(searches), 1),
            "topics_command_ms": round(statistics.median(topics), 1),
            "channels_wait_max_ms": round(max(waits), 1),
            "channels_wait_p99_ms": round(statistics.quantiles(waits, n=100)[98], 1),
            "channels_idle_max_ms": round(max(idle), 1),
            "channels_idle_p99_ms": round(statistics.quantiles(idle, n=100)[98], 1),
            "channels_requests_during_reports": len(waits),
            "rss_mb": rss_mb(pid),
        }


def measure_bot(workdir: Path, path: Path | str) -> dict[str, Any]:
    port = free_port()
    config = write_config(workdir, path, port)
    env = {**os.environ, "AGORA_CONFIG": str(config)}
    env.pop("AGORA_DB", None)
    log = (workdir / "bot.log").open("w")
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        return asyncio.run(http_figures(port, bot.pid))
    finally:
        bot.terminate()
        bot.wait(30)
        log.close()


def settle(url: str | Path) -> None:
    """What autovacuum does within a minute of a bulk load (hint bits, visibility map, statistics):
    without it the first reads after growing pay for the load, not for the history."""
    from bot.store import open_database

    db = open_database(url)
    try:
        db.execute("vacuum analyze")
    finally:
        db.close()


def database_mb(target: Path | str) -> float:
    """The database's size: the SQLite file, or what PostgreSQL reports for the database."""
    if isinstance(target, Path):
        return round(target.stat().st_size / 2**20, 1)
    from bot.store import open_database

    db = open_database(target)
    try:
        return round(int(db.execute("select pg_database_size(current_database())").fetchone()[0]) / 2**20, 1)
    finally:
        db.close()


def run(
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000),
    replicas: tuple[int, ...] = (1, 2, 4),
    backend: str = "sqlite",
    keep: Path | None = None,
) -> dict[str, Any]:
    """Grow one history through ``sizes``, measuring at each, then the replicas' throughput.
    ``backend="postgresql"`` runs it on a private PostgreSQL cluster on loopback (testing/postgres.py:
    Debian's ``postgresql`` package, durability off). With ``keep``, the history is kept in that
    directory and grown on from there next time (:class:`KeptHistory`)."""
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-scale-"))
    out: dict[str, Any] = {"backend": backend, "messages_per_day": PER_DAY, "channels": CHANNELS, "sizes": {}}
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        history = KeptHistory.open(keep, backend, cleanup) if keep else KeptHistory.fresh(workdir, backend, cleanup)
        if sizes and sizes[0] < history.have:
            raise SystemExit(f"{keep} holds {history.have:,} messages: measure sizes of at least that many")
        for size in sizes:
            began = time.perf_counter()
            grown = size > history.have
            grow(history.target, history.end, history.have, size, history.rng)
            if backend == "postgresql" and grown:
                settle(history.target)
            history.grown_to(size)
            figures: dict[str, Any] = {"generate_s": round(time.perf_counter() - began, 1)}
            figures["report_ms"] = report_ms(history.target, time.time())
            figures.update(measure_bot(workdir, history.target))
            figures["database_mb"] = database_mb(history.target)
            out["sizes"][str(size)] = figures
            print(f"scale {backend} {size}: {figures}", file=sys.stderr, flush=True)
    if replicas:
        from benchmarks import replicas as replica_bench

        out["replicas"] = replica_bench.run(replicas)
    return out


@dataclass
class KeptHistory:
    """The grown history: where it is (a SQLite path or a PostgreSQL URL), how many messages it holds, the
    time of its newest, and the generator that grows it on. Kept in a directory, it is grown once and
    measured many times (the report's 30-day window slides with the clock meanwhile)."""

    target: Path | str
    have: int
    end: float
    rng: random.Random
    state: Path | None = None

    @classmethod
    def fresh(cls, workdir: Path, backend: str, cleanup: contextlib.ExitStack) -> KeptHistory:
        target: Path | str = workdir / "agora.db"
        if backend == "postgresql":
            from testing.postgres import running_cluster

            target = cleanup.enter_context(running_cluster()).create_database()
        return cls(target, 0, time.time(), random.Random(17))

    @classmethod
    def open(cls, keep: Path, backend: str, cleanup: contextlib.ExitStack) -> KeptHistory:
        keep.mkdir(parents=True, exist_ok=True)
        state = keep / f"{backend}.json"
        saved = json.loads(state.read_text()) if state.exists() else {}
        rng = random.Random(17)
        if "rng" in saved:
            version, internal, gauss = saved["rng"]
            rng.setstate((version, tuple(internal), gauss))
        target: Path | str = keep / "agora.db"
        if backend == "postgresql":
            from testing.postgres import kept_cluster

            cluster = cleanup.enter_context(kept_cluster(keep / "postgresql"))
            target = cluster.url(saved["database"]) if "database" in saved else cluster.create_database(prefix="scale")
        history = cls(target, int(saved.get("have", 0)), float(saved.get("end", time.time())), rng, state)
        history.grown_to(history.have)
        return history

    def grown_to(self, size: int) -> None:
        """Now ``size`` messages; saved for the next run when kept."""
        self.have = size
        if self.state is not None:
            saved = {"have": size, "end": self.end, "rng": self.rng.getstate()}
            if isinstance(self.target, str):
                saved["database"] = self.target.rsplit("/", 1)[1]
            self.state.write_text(json.dumps(saved))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated message counts")
    parser.add_argument("--replicas", default="1,2,4", help="comma-separated replica counts ('' for none)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="the database")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the grown history in DIR (made if missing) and grow on from it next time, so a 1M history is "
        "grown once and measured many times; sizes start at what DIR holds (delete DIR to start again)",
    )
    args = parser.parse_args()
    counts = tuple(int(n) for n in args.replicas.split(",") if n)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    print(json.dumps(run(sizes, counts, args.backend, args.keep), indent=2))
