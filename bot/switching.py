"""How long another thread can keep the event loop waiting for the GIL.

The event loop shares the process with threads that run Python (the reads thread building a
report, the tagging thread). Each time the loop wakes up (a request arrived, a socket is
writable) it needs the GIL back, and a thread busy in Python gives it up only when the switch
interval runs out: 5 ms by default. A request wakes the loop a few times, so while a report's
Python part runs, every request waited a few times 5 ms. At 1 ms each wake-up waits at most
1 ms: measured with a pure-Python thread beside a loop-like thread that waits three times per
cycle, the cycle took 18 ms (p50) at 5 ms and 4 ms at 1 ms. The cost, more hand-overs between
threads that both compute, was below the noise of this shared machine (CPython's own figure is
a few per cent at worst).

The garbage collector's full passes hold the GIL too, however short the interval, for as long as
they take to walk every object the process keeps: about 30 ms in the reads thread of a bot serving
1M messages on PostgreSQL, the longest single wait left behind a report. What the bot loads at
start (modules, catalogs, lexicons, models) lives as long as the process, so once started it is
moved out of the collector's sight (:func:`gc.freeze`) and a full pass walks only what came after:
the longest wait then 18 ms, the reads thread's longest pass 6 ms.
"""

from __future__ import annotations

import gc
import sys

INTERVAL = 0.001  # seconds


def share_the_gil(interval: float = INTERVAL) -> float:
    """Lower the process's switch interval to ``interval`` (a lower one set by the operator stays);
    returns the interval now in force."""
    if sys.getswitchinterval() > interval:
        sys.setswitchinterval(interval)
    return sys.getswitchinterval()


def freeze_startup_heap() -> int:
    """Keep what exists now out of every later collection (it is never freed); returns how many objects."""
    gc.collect()  # what start-up left as garbage goes first, not into the frozen heap
    gc.freeze()
    return gc.get_freeze_count()
