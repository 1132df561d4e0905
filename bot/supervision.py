"""Never deaf: every platform connection's state, the reconnect policy, and when to give up.

A relay that silently stops listening is the worst failure a forum can have,
so each adapter reports its connection here (connecting, connected,
disconnected since when, the last error, how often it reconnected). The
``[supervision]`` table of config.toml says how long a platform may be
disconnected before ``GET /health`` answers 503 (``grace``), how reconnect
attempts back off, and after how long without a connection ``agora run``
stops with the reason instead of running deaf (``give_up_after``).

The state is also written to the ``connection_state`` table, so ``agora
doctor`` (another process) shows what the running bot last saw.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.settings import check, read_dataclass
from bot.store.sql import Database, upsert

log = logging.getLogger(__name__)

CONNECTING, CONNECTED, DISCONNECTED, STOPPED = "connecting", "connected", "disconnected", "stopped"
STANDBY = "standby"
"""A replica that leaves a one-of-a-kind connection (a Discord gateway) to the elected holder and
takes it over if the holder dies (:mod:`bot.leadership`): not an outage, and it still delivers."""
UP_STATES = (CONNECTED, STANDBY)
TABLE = "connection_state"
PREFIX = "supervision"


@dataclass(frozen=True, slots=True)
class SupervisionPolicy:
    """How connections are watched and retried (the ``[supervision]`` table)."""

    grace: float = 60.0  # seconds a platform may be disconnected before GET /health answers 503
    backoff_base: float = 1.0  # seconds before the first reconnect attempt, doubled per failure, with jitter
    backoff_max: float = 60.0  # longest wait between reconnect attempts, in seconds
    give_up_after: float = 900.0  # seconds without a connection after which agora run exits non-zero (0: never)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> SupervisionPolicy:
        """Check every key; ConfigError names the offending ``supervision.<key>``."""
        policy = read_dataclass(cls, table, PREFIX)
        for key in ("grace", "give_up_after"):
            check(getattr(policy, key) >= 0, PREFIX, key, "must be zero or more seconds")
        check(policy.backoff_base > 0, PREFIX, "backoff_base", "must be more than 0 seconds")
        ok = policy.backoff_max >= policy.backoff_base
        check(ok, PREFIX, "backoff_max", "must be at least supervision.backoff_base")
        return policy

    def delay(self, failures: int) -> float:
        """Seconds before the next attempt after ``failures`` failed ones ("full jitter")."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** min(failures, 30))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """One adapter's connection as last reported."""

    adapter: str
    state: str
    since: float
    last_error: str = ""
    reconnects: int = 0

    def down_for(self, now: float) -> float:
        """Seconds this connection has been down (0 while connected)."""
        return 0.0 if self.state in (CONNECTED, STOPPED, STANDBY) else max(0.0, now - self.since)

    def as_json(self, now: float, grace: float) -> dict[str, Any]:
        return {
            "state": self.state,
            "since": self.since,
            "down_seconds": round(self.down_for(now), 3),
            "healthy": self.down_for(now) <= grace,
            "last_error": self.last_error,
            "reconnects": self.reconnects,
        }


class Connections:
    """The registry every adapter reports into; Agora watches it and gives up when told to."""

    def __init__(
        self,
        policy: SupervisionPolicy | None = None,
        db: Database | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy or SupervisionPolicy()
        self.clock = clock
        self._db = db
        self._states: dict[str, ConnectionStatus] = {}
        self._was_up: set[str] = set()
        self.fatal: str | None = None
        self._fatal_event: asyncio.Event | None = None

    def supervisor(self, adapter: str) -> Supervisor:
        """The handle one adapter uses to report and reconnect."""
        return Supervisor(adapter, self)

    def report(self, adapter: str, state: str, error: str = "") -> ConnectionStatus:
        """Record a change; a connection coming back after being down counts as a reconnect."""
        now = self.clock()
        old = self._states.get(adapter)
        if old is None:
            new = ConnectionStatus(adapter, state, now, error)
        else:
            came_back = state == CONNECTED and old.state != CONNECTED and adapter in self._was_up
            outage_goes_on = old.state in (CONNECTING, DISCONNECTED) and state in (CONNECTING, DISCONNECTED)
            new = replace(
                old,
                state=state,
                since=old.since if old.state == state or outage_goes_on else now,
                last_error=error or old.last_error,
                reconnects=old.reconnects + (1 if came_back else 0),
            )
        if state == CONNECTED:
            self._was_up.add(adapter)
        self._states[adapter] = new
        if new.state != (old.state if old else None) or new.last_error != (old.last_error if old else ""):
            self._save(new)
        return new

    def _save(self, status: ConnectionStatus) -> None:
        if self._db is None or status.state == STANDBY:
            return  # a standby leaves the row to the replica holding the connection (the table has one per adapter)
        row = {
            "adapter": status.adapter,
            "state": status.state,
            "since": status.since,
            "last_error": status.last_error,
            "reconnects": status.reconnects,
            "pid": os.getpid(),
            "updated_at": self.clock(),
        }
        try:
            upsert(self._db, TABLE, row, key=["adapter"])
        except Exception:  # state is for people; never let bookkeeping stop a reconnect
            log.exception("could not record the %s connection state", status.adapter)

    def snapshot(self) -> list[ConnectionStatus]:
        return [self._states[name] for name in sorted(self._states)]

    def healthy(self) -> bool:
        """True unless a platform has been down longer than the grace period (or Agora gave up)."""
        now = self.clock()
        return self.fatal is None and all(s.down_for(now) <= self.policy.grace for s in self._states.values())

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` answers."""
        now = self.clock()
        return {
            "ok": self.healthy(),
            "grace_seconds": self.policy.grace,
            "fatal": self.fatal,
            "adapters": {s.adapter: s.as_json(now, self.policy.grace) for s in self.snapshot()},
        }

    def give_up(self, reason: str) -> None:
        """Ask ``agora run`` to stop and exit non-zero with ``reason`` (the first reason wins)."""
        if self.fatal is None:
            self.fatal = reason
            log.critical("giving up: %s", reason)
        if self._fatal_event is not None:
            self._fatal_event.set()

    async def wait_fatal(self) -> str:
        """Return the reason once a connection is given up for lost."""
        if self._fatal_event is None:
            self._fatal_event = asyncio.Event()
        if self.fatal is not None:
            self._fatal_event.set()
        await self._fatal_event.wait()
        return self.fatal or "a platform connection was lost"

    async def watch(self, interval: float = 1.0) -> None:
        """Give up once a platform stays disconnected past ``give_up_after`` (run as a task)."""
        limit = self.policy.give_up_after
        if limit <= 0:
            return
        while self.fatal is None:
            now = self.clock()
            for status in self._states.values():
                if status.down_for(now) > limit:
                    detail = f": {status.last_error}" if status.last_error else ""
                    self.give_up(f"{status.adapter}: no connection for {status.down_for(now):.0f}s{detail}")
                    return
            await asyncio.sleep(min(interval, max(limit / 4, 0.01)))

    def stopped(self) -> None:
        """Agora is shutting down: a closed connection is not an outage."""
        for name in list(self._states):
            self.report(name, STOPPED)


def recorded(db: Database) -> list[tuple[ConnectionStatus, int]]:
    """What ``agora run`` last recorded per adapter, with its process id (for ``agora doctor``)."""
    return [
        (ConnectionStatus(r["adapter"], r["state"], r["since"], r["last_error"] or "", r["reconnects"]), r["pid"] or 0)
        for r in db.query(f"select * from {TABLE} order by adapter")
    ]


class Supervisor:
    """One adapter's reporter, with the reconnect loop its connection uses."""

    def __init__(self, adapter: str, connections: Connections) -> None:
        self.adapter = adapter
        self.connections = connections

    @property
    def policy(self) -> SupervisionPolicy:
        return self.connections.policy

    @property
    def status(self) -> ConnectionStatus | None:
        return next((s for s in self.connections.snapshot() if s.adapter == self.adapter), None)

    def connecting(self) -> None:
        self.connections.report(self.adapter, CONNECTING)

    def connected(self) -> None:
        self.connections.report(self.adapter, CONNECTED)

    def standby(self) -> None:
        """Another replica holds this connection; this one delivers and waits to take it over."""
        self.connections.report(self.adapter, STANDBY)

    def disconnected(self, error: BaseException | str) -> None:
        """The connection is down; ``error`` says why (kept as the last error)."""
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}".rstrip(": ")
        self.connections.report(self.adapter, DISCONNECTED, reason or "connection closed")

    def give_up(self, reason: str) -> None:
        self.connections.give_up(f"{self.adapter}: {reason}")

    async def reconnect(self, attempt: Callable[[], Awaitable[None]]) -> None:
        """Call ``attempt`` until it succeeds, backing off with jitter between failures.

        Each failure is logged with its traceback and kept as the last error. The
        loop ends when ``attempt`` returns, or is cancelled (shutdown, or Agora
        gave up after ``give_up_after``).
        """
        failures = 0
        while True:
            delay = self.policy.delay(failures)
            log.warning("%s: reconnecting in %.1fs", self.adapter, delay)
            await asyncio.sleep(delay)
            self.connecting()
            try:
                await attempt()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.error("%s: reconnect attempt %d failed", self.adapter, failures, exc_info=exc)
                self.disconnected(exc)
                continue
            return
