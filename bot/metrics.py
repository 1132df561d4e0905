"""The core's metrics port: counters and histograms by name, bound to a backend outside bot/.

The core records what happens (a message relayed, a delivery done, a
translation timed) without knowing who listens; ``adapters/prometheus.py``
binds these names to prometheus-client and serves them at ``GET /metrics``.
Every series is declared here once, so the binding and the docs agree on
names, kinds, help and labels. Gauges (deliveries waiting, connections up) are
not recorded: they are read from :class:`bot.operations.Operations` when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.ports import Check, GlossaryTerm, Translation, Translator
from bot.richtext import RichText

COUNTER = "counter"
HISTOGRAM = "histogram"
GAUGE = "gauge"


@dataclass(frozen=True, slots=True)
class Series:
    """One metric: its name, kind, help text and label names."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()


MESSAGES_RELAYED = Series(
    "agora_messages_relayed_total",
    COUNTER,
    "Messages stored and queued for other channels, by source platform",
    ("platform",),
)
DELIVERY_SECONDS = Series(
    "agora_delivery_seconds",
    HISTOGRAM,
    "From queueing a delivery to its post on the platform, by platform",
    ("platform",),
)
TRANSLATION_SECONDS = Series(
    "agora_translation_seconds", HISTOGRAM, "Time to translate one message, by engine", ("engine",)
)
DELIVERIES = Series(
    "agora_deliveries",
    GAUGE,
    "Deliveries waiting, being sent or parked, by destination platform and state",
    ("platform", "state"),
)
ADAPTER_UP = Series("agora_adapter_up", GAUGE, "1 while an adapter's platform connection is up", ("adapter",))
DATABASE_UP = Series("agora_database_up", GAUGE, "1 while the database answers")
ADAPTER_STANDBY = Series(
    "agora_adapter_standby",
    GAUGE,
    "1 while another replica holds an adapter's one connection (a Discord gateway) and this one stands by",
    ("adapter",),
)
SERIES = (
    MESSAGES_RELAYED,
    DELIVERY_SECONDS,
    TRANSLATION_SECONDS,
    DELIVERIES,
    ADAPTER_UP,
    DATABASE_UP,
    ADAPTER_STANDBY,
)


class Metrics(Protocol):
    """Where the core records counts and durations."""

    def count(self, series: Series, amount: float = 1.0, **labels: str) -> None: ...

    def observe(self, series: Series, value: float, **labels: str) -> None: ...


class NoMetrics:
    """Records nothing: the default when no metrics backend is installed."""

    def count(self, series: Series, amount: float = 1.0, **labels: str) -> None:
        pass

    def observe(self, series: Series, value: float, **labels: str) -> None:
        pass


class TimedTranslator:
    """A translator that records how long each translation took, and otherwise is the one it wraps."""

    def __init__(self, inner: Translator, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.name = inner.name

    def detect(self, text: str, prior: str | None) -> str:
        return self.inner.detect(text, prior)

    async def translate(
        self, text: RichText, source: str, target: str, glossary: Sequence[GlossaryTerm] = ()
    ) -> Translation:
        started = time.perf_counter()
        try:
            return await self.inner.translate(text, source, target, glossary)
        finally:
            self.metrics.observe(TRANSLATION_SECONDS, time.perf_counter() - started, engine=self.name)

    def checks(self) -> list[Check]:
        return self.inner.checks()

    async def close(self) -> None:
        await self.inner.close()
