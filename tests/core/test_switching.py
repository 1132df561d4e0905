"""`agora run` makes threads busy in Python hand the GIL back to its event loop every millisecond,
and keeps what it loaded at start out of the garbage collector's full passes. That is process-wide
tuning, so it belongs to the serving process, not to every Agora object started in-process."""

from __future__ import annotations

import gc
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.switching import INTERVAL, share_the_gil
from testing.polling import eventually
from testing.processes import stop_process
from tests.core.test_crash import free_port, start, write_config

TUNED = re.compile(r"switch interval ([0-9.e-]+) s; (\d+) start-up objects kept out")


@pytest.fixture
def default_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # CPython's default, whatever an earlier test left
    yield
    sys.setswitchinterval(before)


async def test_agora_run_lowers_the_switch_interval_and_freezes_its_start_up(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    write_config(config, port)
    log = tmp_path / "agora.log"
    proc = start(config, port, log, "-v")
    try:
        found = await eventually(lambda: TUNED.search(log.read_text()), "agora run to report its tuning")
        assert float(found.group(1)) == pytest.approx(INTERVAL)
        assert int(found.group(2)) > 10_000  # modules, catalogs, lexicons: the bot's start-up
    finally:
        await stop_process(proc)


@pytest.mark.usefixtures("default_interval")
async def test_an_agora_started_in_process_leaves_the_process_alone(make_harness: Callable[..., Any]) -> None:
    gc.unfreeze()
    h = await make_harness()
    assert sys.getswitchinterval() == pytest.approx(0.005) and gc.get_freeze_count() == 0
    await h.agora.stop(grace=1)


@pytest.mark.usefixtures("default_interval")
def test_an_operators_lower_interval_stays() -> None:
    sys.setswitchinterval(INTERVAL / 2)
    assert share_the_gil() == pytest.approx(INTERVAL / 2)
    assert sys.getswitchinterval() == pytest.approx(INTERVAL / 2)
