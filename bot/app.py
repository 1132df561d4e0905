"""The composition root: builds the store, translator, relay and adapters, and runs them.

Adapters and the translator are found through entry points, so this module
names no platform and no engine. Tests pass their own adapters or translator
to exercise the real core against fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.charts import ChartProcess
from bot.commands import COMMANDS
from bot.compose import Composer
from bot.config import Config
from bot.deliveries import Deliveries
from bot.digest import Digests
from bot.events import (
    CommandInvoked,
    Event,
    IncomingMessage,
    MessageDeleted,
    MessageEdited,
    TranslateRequest,
    sanitised,
)
from bot.files import MB, Files, LocalBlobStore
from bot.handlers import Commands
from bot.i18n import Catalog, default_catalog
from bot.markup import parser_for
from bot.metrics import Metrics, NoMetrics, TimedTranslator
from bot.model import Channel
from bot.operations import Operations, connection_states, standby_adapters
from bot.outbox import Outbox
from bot.passthrough import PassThrough
from bot.ports import Adapter, AdapterContext, Embedder, Translator, load_plugin, plugin_names
from bot.reads import Reads
from bot.relay import Relay
from bot.report import Reports
from bot.retention import Retention
from bot.richtext import RichText
from bot.search import Search
from bot.similar import SimilarQuestions, Tuning
from bot.store import Store, open_database
from bot.store.wakeups import outbox_wakeups
from bot.supervision import Connections
from bot.tagging import TopicTagger, corrections_loader, load_topic_model
from bot.topics import Tagger, default_tagger

log = logging.getLogger(__name__)


def load_translator(config: Config, store: Store) -> Translator:
    """The configured translator, or a pass-through when no translation package is installed."""
    if "default" not in plugin_names("agora.translators"):
        log.warning("no translation package installed: messages will be relayed untranslated")
        return PassThrough()
    factory = load_plugin("agora.translators", "default")
    translator: Translator = factory(config.translation, store)
    return translator


def files_dir(config: Config) -> Path:
    """Where relayed files live: ``[agora] files_dir``, else ``files`` beside the database."""
    if config.files_dir is not None:
        return config.files_dir
    if str(config.database) == ":memory:":
        return Path(tempfile.mkdtemp(prefix="agora-files-"))
    return config.state_path.parent / "files"


def adapter_context(
    config: Config,
    store: Store,
    catalog: Catalog,
    environ: Mapping[str, str],
    files: LocalBlobStore,
    connections: Connections | None = None,
    operations: Operations | None = None,
) -> AdapterContext:
    """What the core lends every adapter; ``agora run`` and ``agora doctor`` build it here alike.

    ``connections`` is the running app's registry; doctor, which runs nothing, gets a fresh one.
    """
    return AdapterContext(
        db=store.db,
        channels=store.platform_channels,
        commands=COMMANDS,
        catalog=catalog,
        environ=environ,
        max_message_length=config.max_message_length,
        relay_bots=config.relay_bots,
        files=files,
        connections=connections or Connections(config.supervision),
        operations=operations,
    )


def load_metrics() -> Metrics:
    """The metrics backend (entry point ``agora.metrics:default``, prometheus), or none if not installed."""
    if "default" not in plugin_names("agora.metrics"):
        return NoMetrics()
    metrics: Metrics = load_plugin("agora.metrics", "default")()
    return metrics


@functools.cache
def shared_embedder() -> Embedder | None:
    """The sentence embedder (entry point ``agora.embedders:use``), one per process, or None if not installed.

    One instance serves every Agora in the process (tests build many), so the
    model is loaded once; topics and similar questions share it.
    """
    if "use" not in plugin_names("agora.embedders"):
        log.warning("no sentence embedder installed: topics come from the lexicon alone, and /ask suggests nothing")
        return None
    embedder: Embedder = load_plugin("agora.embedders", "use")({})
    return embedder


class Agora:
    """One running bot: every enabled adapter feeding one relay."""

    def __init__(
        self,
        config: Config,
        *,
        adapters: Mapping[str, Adapter] | None = None,
        translator: Translator | None = None,
        tagger: Tagger | None = None,
        catalog: Catalog | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] = os.environ,
        embedder: Embedder | None = None,
    ) -> None:
        self.config = config
        self.db = open_database(config.database)
        self.store = Store(self.db, clock)
        self.connections = Connections(config.supervision, self.db, clock)
        self.catalog = catalog or default_catalog()
        self.tagger = tagger or default_tagger()
        self.sync_config()
        self.translator = translator or load_translator(config, self.store)
        # One embedder per process, shared by topics and similar questions; loaded in the background at start.
        self.embedder = embedder or shared_embedder()
        self.topic_tagger = TopicTagger(
            self.tagger,
            self.embedder,
            load_topic_model(config.state_path) if self.embedder is not None else None,
            corrections_loader(self.store),
        )
        self.adapters: dict[str, Adapter] = dict(adapters) if adapters is not None else {}
        self.metrics = load_metrics()
        self.operations = Operations(
            self.store,
            self.metrics,
            connection_states(self.connections, self.adapters, lambda: self.started),
            clock,
            standby_adapters(self.connections),
        )
        self.blobs = LocalBlobStore(files_dir(config))
        self.files = Files(self.store, self.blobs, self.adapters, config.max_file_mb * MB)
        self.composer = Composer(
            self.store, TimedTranslator(self.translator, self.metrics), self.tagger, self.catalog, self.files
        )
        self.outbox = Outbox(
            self.store, self.adapters, self.composer, config.outbox, clock, wakeups=outbox_wakeups(self.db)
        )
        self.deliveries = Deliveries(self.store, self.catalog, self.outbox.wake)
        self.outbox.on_parked = self.deliveries.on_parked
        self.outbox.on_delivered = self.operations.delivered
        self.relay = Relay(
            self.store, self.translator, self.topic_tagger, self.outbox.wake, config, self.files.fetch_soon
        )
        self.relay.on_relayed = self.operations.relayed
        self.reads = Reads(self.store, config.database, clock)
        self.charts = ChartProcess()
        self.reports = Reports(self.store, self.tagger, self.catalog, clock, reads=self.reads, draw_chart=self.charts)
        self.similar = (
            SimilarQuestions(
                self.store, self.embedder, self.catalog, Tuning(threshold=config.similar.threshold), config.database
            )
            if self.embedder is not None and config.similar.enabled
            else None
        )
        self.search = Search(
            self.store, self.tagger, self.translator, self.catalog, meaning=self.similar, reads=self.reads
        )
        self.digests = Digests(self.store, self.reports, self.outbox.wake, config, clock)
        self._parsers: dict[str, Callable[[str], RichText]] = {}
        self.commands = Commands(
            self.store,
            self.relay,
            self.translator,
            self.tagger,
            self.catalog,
            self.reports,
            self.search,
            config,
            markup=self.parse_markup,
            deliveries=self.deliveries,
            wake_digests=self.digests.poke,
            topic_tagger=self.topic_tagger,
            similar=self.similar,
            connections=self.connections,
        )
        if adapters is None:
            context = self.adapter_context(environ)
            for name in config.enabled_adapters():
                factory = load_plugin("agora.adapters", name)
                self.adapters[name] = factory(config.adapters[name], context)
        self._tasks: list[asyncio.Task[Any]] = []
        self.started = False

    def adapter_context(self, environ: Mapping[str, str] = os.environ) -> AdapterContext:
        return adapter_context(
            self.config, self.store, self.catalog, environ, self.blobs, self.connections, self.operations
        )

    def parse_markup(self, platform: str, text: str) -> RichText:
        if platform not in self._parsers:
            self._parsers[platform] = parser_for(platform)
        return self._parsers[platform](text)

    def sync_config(self) -> None:
        """Bring networks and channels declared in config.toml into the database.

        New ones are added; existing ones keep what commands changed (language,
        mode, topics) but take the config's city and country. One transaction,
        so two processes starting together do not both add the same network.
        """
        with self.store.transaction():
            self._sync_networks()

    def _sync_networks(self) -> None:
        for net in self.config.networks:
            if self.store.network(net.name) is None:
                self.store.create_network(net.name, net.code)
            for ch in net.channels:
                existing = self.store.channel(ch.ref)
                if existing is None or existing.network != net.name:
                    self.store.link_channel(Channel(ch.ref, net.name, ch.city, ch.lang, ch.mode, ch.country), "config")
                elif (existing.city, existing.country) != (ch.city, ch.country):
                    self.store.update_channel(ch.ref, city=ch.city, country=ch.country)

    async def start(self) -> None:
        """Connect every adapter, then resume pending deliveries and the digest schedule."""
        if self.embedder is not None:
            self.embedder.warm()  # ~1 s in a background thread: serve at once, tag fully once it is in
        for name, adapter in self.adapters.items():
            log.info("starting adapter %s", name)
            await adapter.start(self.handle)
        self.files.start()
        self.outbox.start()
        self._tasks.append(asyncio.create_task(self.digests.run(), name="digests"))
        if self.config.retention_days:
            retention = Retention(self.store, self.config.retention_days, self.store.now, self.files)
            self._tasks.append(asyncio.create_task(retention.run(), name="retention"))
        if self.similar is not None:
            self._tasks.append(asyncio.create_task(self._index_backlog(), name="similar-backlog"))
        self._tasks.append(asyncio.create_task(self.connections.watch(), name="supervision"))
        self.started = True
        log.info("Agora started: adapters %s, translation %s", ", ".join(self.adapters) or "none", self.translator.name)

    async def _index_backlog(self) -> None:
        """Vectors for questions stored before suggestions existed, in the background."""
        assert self.similar is not None
        try:
            done = await self.similar.index_backlog()
        except Exception:
            log.exception("could not index earlier questions for suggestions")
            return
        if done:
            log.info("indexed %d earlier questions for suggestions", done)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking events, let in-flight posts finish, keep the rest for next time."""
        for name, adapter in self.adapters.items():
            try:
                await adapter.stop()
            except Exception:
                log.exception("adapter %s did not stop cleanly", name)
        self.connections.stopped()
        await self.outbox.stop(grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.similar is not None:
            await self.similar.close(grace)
        await self.translator.close()
        await asyncio.to_thread(self.relay.close)
        await asyncio.to_thread(self.reads.close)
        await asyncio.to_thread(self.charts.close)
        self.db.close()
        self.started = False

    async def handle(self, event: Event) -> None:
        """The sink every adapter feeds. Never raises back into an adapter."""
        try:
            event = sanitised(event)
            match event:
                case IncomingMessage():
                    await self.relay.on_message(event)
                case MessageEdited():
                    edited = await self.relay.on_edit(event)
                    if edited is not None and self.similar is not None:
                        await self.similar.refresh(edited)
                case MessageDeleted():
                    await self.relay.on_delete(event)
                case CommandInvoked():
                    await self.commands.handle(event)
                case TranslateRequest():
                    await self.commands.translate_for(event)
        except Exception:
            log.exception("could not handle %s in %s", type(event).__name__, getattr(event, "channel", "?"))
