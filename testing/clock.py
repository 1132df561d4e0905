"""A clock the test moves by hand, for code that takes ``clock: Callable[[], float]``.

Leases, claims, inboxes, retention and per-day counts all read the time through
such a callable, so a test can step past an expiry or into the next day without
sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ManualClock:
    """Returns ``now`` until the test sets it: ``clock.now += 30``."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now
