"""Waiting for state instead of sleeping: one polling helper with one budget, and outbox settling.

Tests and benchmarks never sleep a fixed time to let something happen; they poll the state they
need with a deadline. ``eventually`` (async) and ``wait_until`` (blocking, for tests that drive a
subprocess) share the budget and the interval, so a slow machine needs one knob, not five.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

T = TypeVar("T")

BUDGET = 30.0
"""Seconds a condition may take before the wait fails (generous: the machine is shared)."""
INTERVAL = 0.02
"""Seconds between two looks."""

UNSETTLED = ("pending", "sending")
"""Outbox states in which a row can still be posted (a ``sending`` row is a worker holding work)."""


@overload
async def eventually(check: Callable[[], Awaitable[T | None]], what: str = ..., budget: float = ...) -> T: ...


@overload
async def eventually(check: Callable[[], T | None], what: str = ..., budget: float = ...) -> T: ...


async def eventually(check: Callable[[], Any], what: str = "the condition", budget: float = BUDGET) -> Any:
    """Poll ``check`` (plain or async) until it returns something truthy, and return that.

    Raises AssertionError naming ``what`` after ``budget`` seconds; an exception from ``check``
    propagates at once (a dead process should fail the wait, not time it out).
    """
    deadline = time.monotonic() + budget
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {budget:g}s waiting for {what}")
        await asyncio.sleep(INTERVAL)


def wait_until(check: Callable[[], T | None], what: str = "the condition", budget: float = BUDGET) -> T:
    """``eventually`` for blocking code (tests driving the bot as a subprocess over HTTP)."""
    deadline = time.monotonic() + budget
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {budget:g}s waiting for {what}")
        time.sleep(INTERVAL)


def settled(counts: Mapping[str, int]) -> bool:
    """No outbox row is waiting or being sent: nothing more will be posted."""
    return not any(counts.get(state) for state in UNSETTLED)


class _Counts(Protocol):
    def delivery_counts(self) -> dict[str, int]: ...


class _HasStore(Protocol):
    @property
    def store(self) -> _Counts: ...


async def drain(outbox: _HasStore, budget: float = BUDGET) -> None:
    """Wait until an in-process outbox has posted (or parked) every row."""
    await eventually(lambda: settled(outbox.store.delivery_counts()), "the outbox to settle", budget)


async def relayed(
    outbox: _HasStore, check: Callable[[], Any], what: str = "the relay to get there", budget: float = BUDGET
) -> Any:
    """``eventually(check)`` with the outbox settled before each look.

    Platform events reach the core just after the fake has its acknowledgement, and what they
    cause goes out through the outbox, so each look first waits for the outbox to settle.
    """

    async def settled_check() -> Any:
        await drain(outbox, budget)
        value = check()
        return await value if inspect.isawaitable(value) else value

    return await eventually(settled_check, what, budget)


def database_settled(database: Path) -> bool:
    """``settled`` for a bot running in another process, read from its database."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("select state, count(*) from outbox group by state").fetchall()
    finally:
        db.close()
    return settled({state: n for state, n in rows})
