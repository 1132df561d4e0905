"""Stopping an ``agora run`` subprocess the way an operator does, from inside the test's event loop."""

from __future__ import annotations

import asyncio
import signal
import subprocess


async def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 20.0) -> int | None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; its exit code (None when there was no process).

    The wait runs off the loop: the fake platforms on this loop must answer the bot's goodbyes,
    or each stop sits out the bot's own timeouts.
    """
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.to_thread(proc.wait, grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return await asyncio.to_thread(proc.wait, 5)
