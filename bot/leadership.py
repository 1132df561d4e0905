"""Holding a one-of-a-kind job among replicas: elected through a named lease, renewed in the background.

A job only one replica may do at a time (a Discord gateway session) is guarded
by a lease (:mod:`bot.store.leases`). :class:`Leadership` asks for it, and while
it holds it renews it every third of its TTL; a standby asks again at the same
pace and takes the job over once the holder's lease has lapsed (it died) or was
released (it stopped cleanly). The job itself is started and stopped through two
callbacks, so this module knows nothing of platforms:

- ``on_elected`` starts the job; if it fails the lease is released and the next
  round (here or on another replica) tries again;
- ``on_deposed`` stops it at once when the lease was taken over, or when it could
  not be renewed before it would lapse (the database was unreachable): a holder
  must stop before another replica may start, never after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.store.claims import dead_here
from bot.store.leases import Leases

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Leadership:
    """One named lease held for a job (see the module docstring)."""

    def __init__(self, leases: Leases, name: str, ttl: float, on_elected: Job, on_deposed: Job) -> None:
        self.leases = leases
        self.name = name
        self.ttl = ttl
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.held = False
        self.holder = ""  # who holds it, as last seen (us or another replica)
        self._expires_at = 0.0
        self.renewals = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        """Seconds between renewals (and between a standby's attempts)."""
        return self.ttl / 3

    def claim(self, *, dead_local_holders: bool = False) -> bool:
        """One attempt to take the lease (without starting the job); True if it is ours now.

        With ``dead_local_holders`` a lease still held by a process of this host that no
        longer runs (this bot before a crash or SIGKILL) is ended first, so a restart
        need not wait for it to lapse.
        """
        lease = self.leases.acquire(self.name, self.ttl)
        if not lease.held and dead_local_holders and dead_here(lease.holder):
            log.info("lease %s: its holder %s is no longer running; taking it over", self.name, lease.holder)
            self.leases.release_for(self.name, lease.holder)
            lease = self.leases.acquire(self.name, self.ttl)
        self.holder = lease.holder
        self.held = lease.held
        if lease.held:
            self._expires_at = lease.expires_at
        return lease.held

    def start(self) -> None:
        """Keep the lease (renewing) or wait for it (standby) in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"lease {self.name}")

    async def stop(self) -> None:
        """Stop renewing (and standing by); the lease stays held until :meth:`resign` or it lapses."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def resign(self) -> None:
        """Release the lease if held, once the job has stopped, so a standby takes over at once."""
        if not self.held:
            return
        self.held = False
        try:
            self.leases.release(self.name)
        except Exception:  # it lapses by itself
            log.exception("lease %s: could not release it; it lapses in %.0fs", self.name, self.ttl)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                if self.held:
                    await self._renew()
                else:
                    await self._try_elect()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad round must not end the election
                log.exception("lease %s: round failed", self.name)

    async def _renew(self) -> None:
        try:
            renewed = self.leases.renew(self.name, self.ttl)
        except Exception as exc:
            log.warning("lease %s: could not renew it: %r", self.name, exc)
            if self.leases.now() + self.interval < self._expires_at:
                return  # try again next round; it is still ours for a while
            renewed = False
        if renewed:
            self._expires_at = self.leases.now() + self.ttl
            self.renewals += 1
            return
        log.warning("lease %s: lost it (taken over or lapsed); stopping the job", self.name)
        self.held = False
        await self.on_deposed()

    async def _try_elect(self) -> None:
        if not self.claim():
            return
        log.info("lease %s: elected (the previous holder stopped renewing or released it)", self.name)
        try:
            await self.on_elected()
        except Exception:
            log.exception("lease %s: could not start the job; releasing the lease", self.name)
            self.held = False
            with contextlib.suppress(Exception):
                self.leases.release(self.name)
