"""The core's metrics port bound to prometheus-client, and the text ``GET /metrics`` serves.

Each Agora gets its own registry (tests run several in one process). Counters
and histograms are recorded as the core calls :class:`PrometheusMetrics`;
the gauges (deliveries waiting per platform and state, adapter connections,
the database) are read from :class:`bot.operations.Operations` at each scrape,
so they are never stale and cost nothing between scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.metrics import ADAPTER_STANDBY, ADAPTER_UP, COUNTER, DATABASE_UP, DELIVERIES, HISTOGRAM, SERIES, Series
from bot.operations import Operations

# Deliveries wait on platform pacing (about 1 s per Slack channel): buckets reach minutes.
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
TRANSLATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PrometheusMetrics:
    """Counters and histograms by the names declared in :mod:`bot.metrics`, in a registry of their own."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        for series in SERIES:
            # Counter() appends _total itself: give it the name without the suffix.
            if series.kind == COUNTER:
                name = series.name.removesuffix("_total")
                self._counters[series.name] = Counter(name, series.help, series.labels, registry=self.registry)
            elif series.kind == HISTOGRAM:
                buckets = DELIVERY_BUCKETS if "delivery" in series.name else TRANSLATION_BUCKETS
                self._histograms[series.name] = Histogram(
                    series.name, series.help, series.labels, buckets=buckets, registry=self.registry
                )
        self._gauges: OperationsCollector | None = None

    def count(self, series: Series, amount: float = 1.0, **labels: str) -> None:
        counter = self._counters[series.name]
        (counter.labels(**labels) if labels else counter).inc(amount)

    def observe(self, series: Series, value: float, **labels: str) -> None:
        histogram = self._histograms[series.name]
        (histogram.labels(**labels) if labels else histogram).observe(value)

    def exposition(self, operations: Operations | None) -> bytes:
        """The text format of every series, with the gauges read from ``operations`` now."""
        if operations is not None and self._gauges is None:
            self._gauges = OperationsCollector(operations)
            self.registry.register(self._gauges)
        return generate_latest(self.registry)


class OperationsCollector(Collector):
    """The gauges, read from the store and the connection states at scrape time."""

    def __init__(self, operations: Operations) -> None:
        self.operations = operations

    def collect(self) -> Iterator[GaugeMetricFamily]:
        deliveries = GaugeMetricFamily(DELIVERIES.name, DELIVERIES.help, labels=DELIVERIES.labels)
        for (platform, state), n in sorted(self.operations.deliveries().items()):
            deliveries.add_metric([platform, state], n)
        yield deliveries
        readiness = self.operations.readiness()
        up = GaugeMetricFamily(ADAPTER_UP.name, ADAPTER_UP.help, labels=ADAPTER_UP.labels)
        for name, connected in sorted(readiness.connections.items()):
            up.add_metric([name], 1.0 if connected else 0.0)
        yield up
        standby = GaugeMetricFamily(ADAPTER_STANDBY.name, ADAPTER_STANDBY.help, labels=ADAPTER_STANDBY.labels)
        for name in sorted(readiness.connections):
            standby.add_metric([name], 1.0 if name in readiness.standby else 0.0)
        yield standby
        yield GaugeMetricFamily(DATABASE_UP.name, DATABASE_UP.help, value=1.0 if readiness.database else 0.0)


def create() -> PrometheusMetrics:
    """Entry point ``agora.metrics:default``."""
    return PrometheusMetrics()
