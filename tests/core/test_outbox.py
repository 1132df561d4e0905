from __future__ import annotations

import itertools

import pytest

from bot.errors import DeliveryError
from bot.events import Author, IncomingMessage
from bot.richtext import plain
from bot.store import PARKED
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


async def mirror_burst(h: Harness, n: int) -> None:
    await h.command(BOSTON, "/agora mode mirror")
    for i in range(n):
        await h.adapter.emit(IncomingMessage(BOSTON, f"b{i}", Author("u1", "Ana"), plain(f"message {i}")))


async def test_a_throttled_channel_does_not_delay_the_others(harness: Harness) -> None:
    throttle = DeliveryError("ratelimited", retriable=True, retry_after=0.3)
    harness.adapter.fail_next(GDL, throttle, throttle, throttle)
    await mirror_burst(harness, 5)
    await harness.drain()
    calls = harness.adapter.calls
    recife_done = max(i for i, (op, ch, _) in enumerate(calls) if ch == RECIFE)
    gdl_first_success = 3  # the first three GDL calls were refused
    gdl_calls = [i for i, (_, ch, _) in enumerate(calls) if ch == GDL]
    # Every Recife copy went out before Guadalajara's first accepted post.
    assert recife_done < gdl_calls[gdl_first_success]
    # Order holds in both channels, and nothing was lost or doubled.
    expected_es = [f"[es] message {i}" for i in range(5)]
    assert harness.adapter.texts(GDL) == expected_es
    assert harness.adapter.texts(RECIFE) == [f"[pt] message {i}" for i in range(5)]
    # Retry-After was honoured: the throttled channel waited at least 3 x 0.3 s in all.
    gdl_times = [t for (_, ch, t) in calls if ch == GDL]
    assert gdl_times[3] - gdl_times[0] >= 0.9


async def test_permanent_failures_are_parked_with_their_reason_and_the_rest_flows(harness: Harness) -> None:
    harness.adapter.fail_next(GDL, DeliveryError("channel_not_found", retriable=False))
    await mirror_burst(harness, 3)
    await harness.drain()
    assert harness.adapter.texts(GDL) == ["[es] message 1", "[es] message 2"]
    parked = harness.agora.store.parked()
    assert [p.last_error for p in parked] == ["channel_not_found"]
    assert parked[0].state == PARKED


async def test_transient_errors_retry_until_the_limit_then_park(harness: Harness) -> None:
    outage = DeliveryError("HTTP 503", retriable=True)
    harness.adapter.fail_next(RECIFE, *[outage] * 8)  # max_attempts defaults to 8
    await mirror_burst(harness, 2)
    await harness.drain()
    assert harness.adapter.texts(RECIFE) == ["[pt] message 1"]
    assert harness.agora.store.parked()[0].attempts == 8


async def test_a_send_that_may_have_succeeded_is_not_posted_twice(harness: Harness) -> None:
    # The platform accepted the post but the answer was lost (a timeout after the fact).
    original_send = harness.adapter.send
    lost = {"left": 1}

    async def send_then_lose_answer(msg):  # type: ignore[no-untyped-def]
        ref = await original_send(msg)
        if lost["left"]:
            lost["left"] -= 1
            raise DeliveryError("timeout", retriable=True)
        return ref

    harness.adapter.send = send_then_lose_answer  # type: ignore[method-assign]
    await mirror_burst(harness, 1)
    await harness.drain()
    assert harness.adapter.texts(GDL) == ["[es] message 0"] or harness.adapter.texts(RECIFE) == ["[pt] message 0"]
    assert len(harness.adapter.texts(GDL)) == 1 and len(harness.adapter.texts(RECIFE)) == 1


async def test_posts_in_one_channel_keep_the_platform_pace(harness: Harness) -> None:
    harness.adapter.pace = 0.15
    await mirror_burst(harness, 4)
    await harness.drain()
    starts = [t for (op, ch, t) in harness.adapter.calls if ch == GDL and op == "send"]
    assert len(starts) == 4
    assert all(b - a >= 0.15 for a, b in itertools.pairwise(starts))
