"""A started bot makes threads busy in Python hand the GIL back to its event loop every millisecond,
and keeps what it loaded at start out of the garbage collector's full passes."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.switching import INTERVAL, share_the_gil


@pytest.fixture
def default_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # CPython's default, whatever an earlier test left
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("default_interval")
async def test_starting_the_bot_lowers_the_switch_interval(make_harness: Callable[..., Any]) -> None:
    h = await make_harness()
    assert sys.getswitchinterval() == pytest.approx(INTERVAL)
    await h.agora.stop(grace=1)


async def test_starting_the_bot_keeps_its_start_up_out_of_later_collections(make_harness: Callable[..., Any]) -> None:
    gc.unfreeze()  # whatever an earlier test's bot froze
    assert gc.get_freeze_count() == 0
    h = await make_harness()
    assert gc.get_freeze_count() > 10_000  # modules, catalogs, lexicons: the bot's start-up
    await h.agora.stop(grace=1)


@pytest.mark.usefixtures("default_interval")
def test_an_operators_lower_interval_stays() -> None:
    sys.setswitchinterval(INTERVAL / 2)
    assert share_the_gil() == pytest.approx(INTERVAL / 2)
    assert sys.getswitchinterval() == pytest.approx(INTERVAL / 2)
