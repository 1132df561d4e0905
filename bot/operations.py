"""What operators ask a running Agora: is it ready, and what is waiting.

``GET /ready`` (database reachable and every platform connection up) and the
gauges of ``GET /metrics`` are answered from here, so the web adapter and the
prometheus binding need no knowledge of the store or of the other adapters.

Connection state comes through one callable, :data:`ConnectionStates`, built
by :func:`connection_states` over the supervised connections
(:mod:`bot.supervision`). ``/health`` (supervision's) allows a grace period;
``/ready`` does not: a connection that is not up right now makes it 503.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.metrics import DELIVERY_SECONDS, MESSAGES_RELAYED, Metrics
from bot.store import DONE, OutboxRow, Store
from bot.supervision import STANDBY, UP_STATES, Connections

log = logging.getLogger(__name__)
WAITING_STATES = ("pending", "sending", "parked")

ConnectionStates = Callable[[], Mapping[str, bool]]


def connection_states(
    connections: Connections, adapters: Mapping[str, Any], started: Callable[[], bool]
) -> ConnectionStates:
    """Each adapter up or not, as /ready and /metrics read it: an adapter that reports to supervision
    (Slack, Discord) is up while connected, or on standby (another replica holds its one connection);
    one with no platform connection (web) is up once started."""

    def states() -> dict[str, bool]:
        out = {name: started() for name in adapters}
        out.update({status.adapter: status.state in UP_STATES for status in connections.snapshot()})
        return out

    return states


def standby_adapters(connections: Connections) -> Callable[[], tuple[str, ...]]:
    """The adapters whose one connection another replica holds (this replica is their standby)."""
    return lambda: tuple(s.adapter for s in connections.snapshot() if s.state == STANDBY)


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether this process can do its work, and if not, what is down."""

    database: bool
    connections: Mapping[str, bool]
    standby: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.database and all(self.connections.values())

    def as_json(self) -> dict[str, Any]:
        down = [name for name, up in sorted(self.connections.items()) if not up]
        if not self.database:
            down.insert(0, "database")
        return {
            "ready": self.ready,
            "database": "up" if self.database else "down",
            "connections": {name: "up" if up else "down" for name, up in sorted(self.connections.items())},
            "down": down,
            "standby": list(self.standby),
        }


class Operations:
    """Readiness, the scraped gauges, and the recorders the core calls as work happens."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        connections: ConnectionStates,
        clock: Callable[[], float] = time.time,
        standby: Callable[[], tuple[str, ...]] = tuple,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.connections = connections
        self.clock = clock
        self.standby = standby

    def database_up(self) -> bool:
        try:
            self.store.ping()
        except Exception as exc:  # whatever the engine raises, the answer is "down"
            log.warning("database check failed: %s", exc)
            return False
        return True

    def readiness(self) -> Readiness:
        return Readiness(self.database_up(), dict(self.connections()), self.standby())

    def deliveries(self) -> dict[tuple[str, str], int]:
        """Deliveries not yet done, by destination platform and state (the ``state`` index bounds the read)."""
        out: dict[tuple[str, str], int] = {}
        for channel, state, n in self.store.deliveries_by_channel(WAITING_STATES):
            platform = str(channel).split(":", 1)[0]
            out[(platform, state)] = out.get((platform, state), 0) + n
        return out

    def relayed(self, platform: str) -> None:
        """A message was stored with its copies queued."""
        self.metrics.count(MESSAGES_RELAYED, platform=platform)

    def delivered(self, row: OutboxRow, state: str) -> None:
        """A delivery ended; a posted copy records how long it waited since it was queued."""
        if state != DONE:
            return
        try:
            queued_at = self.store.queued_at(row.id)
        except Exception as exc:  # a metric must never fail a delivery, whatever the engine raises
            log.warning("could not time delivery %s: %s", row.id, exc)
            return
        if queued_at is not None:
            self.metrics.observe(DELIVERY_SECONDS, max(0.0, self.clock() - queued_at), platform=row.channel.platform)
