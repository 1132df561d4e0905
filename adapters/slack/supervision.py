"""Never deaf on Slack: watch the Socket Mode connection, rebuild it when slack_sdk cannot, catch up.

slack_sdk's Socket Mode client reconnects by itself (Slack asks it to every
few hours), but when the new connection cannot be opened it retries forever,
logging, while Agora runs deaf; and events sent while no connection was open
are lost. So a watcher looks at the connection every ``check_every``
seconds and reports it to the core's supervision (``/agora status``,
``agora doctor``, ``GET /health``). When slack_sdk has not recovered within
``sdk_grace`` seconds, the watcher replaces the handler with a fresh one,
with the core's backoff and jitter between attempts (each failure logged with
its traceback and reason). After every gap, catch-up relays what was posted
meanwhile. The core stops ``agora run`` if the gap outlasts ``give_up_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.supervision import Supervisor

log = logging.getLogger(__name__)


class SocketWatch:
    """Watches one Socket Mode handler (see the module docstring)."""

    def __init__(
        self,
        supervisor: Supervisor,
        handler: Callable[[], Any],
        rebuild: Callable[[], Awaitable[None]],
        catch_up: Callable[[], Awaitable[object]],
        check_every: float = 1.0,
        sdk_grace: float = 10.0,
    ) -> None:
        self.supervisor = supervisor
        self.handler = handler
        self.rebuild = rebuild
        self.catch_up = catch_up
        self.check_every = check_every
        self.sdk_grace = sdk_grace
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.supervisor.connected()
        self._task = asyncio.create_task(self._run(), name="slack socket watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def connected(self) -> bool:
        handler = self.handler()
        client = getattr(handler, "client", None)
        if client is None:
            return False
        try:
            return bool(await client.is_connected())
        except Exception:  # a client half torn down is not connected
            return False

    async def _run(self) -> None:
        down_since: float | None = None
        while True:
            await asyncio.sleep(self.check_every)
            if await self.connected():
                if down_since is not None:
                    log.info("slack: Socket Mode connection is back after %.1fs", time.monotonic() - down_since)
                    down_since = None
                    self.supervisor.connected()
                    await self._catch_up()
                continue
            if down_since is None:
                down_since = time.monotonic()
                self.supervisor.disconnected("Socket Mode connection lost; slack_sdk is reconnecting")
                log.warning("slack: Socket Mode connection lost")
            if time.monotonic() - down_since >= self.sdk_grace:
                log.error("slack: Socket Mode did not come back by itself; opening a new connection")
                await self.supervisor.reconnect(self.rebuild)
                down_since = None
                self.supervisor.connected()
                await self._catch_up()

    async def _catch_up(self) -> None:
        try:
            await self.catch_up()
        except Exception:  # the next gap tries again; live messages flow meanwhile
            log.exception("slack: catch-up after reconnecting failed")
