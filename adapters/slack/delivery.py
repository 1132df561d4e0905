"""Slack failures to :class:`bot.errors.DeliveryError`, decided once.

The outbox needs one thing from a failure: try again later (throttling,
outages, timeouts) or park the row with a reason (no such channel, bot not
invited, missing scope). A 429 carries Slack's Retry-After so the outbox can
reschedule that one channel while the others keep going; nothing here sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.errors import DeliveryError

T = TypeVar("T")

# Slack error codes that mean "not now" rather than "never".
RETRIABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_not_ready"}
)


def retry_after_of(exc: SlackApiError) -> float | None:
    """Slack's Retry-After header in seconds, if it sent one."""
    headers: Any = getattr(exc.response, "headers", None) or {}
    value = None
    for key in ("Retry-After", "retry-after"):
        if key in headers:
            value = headers[key]
            break
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def error_code(exc: SlackApiError) -> str:
    """The ``error`` field of a failed call, or the HTTP status when there is no JSON."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{getattr(exc.response, 'status_code', '?')}"


def to_delivery_error(exc: BaseException, action: str) -> DeliveryError:
    """Classify a library exception from ``action`` (``chat.postMessage`` …)."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, SlackApiError):
        status = int(getattr(exc.response, "status_code", 0) or 0)
        code = error_code(exc)
        if status == 429 or code == "ratelimited":
            return DeliveryError(f"slack {action}: ratelimited", retriable=True, retry_after=retry_after_of(exc) or 1.0)
        retriable = status >= 500 or code in RETRIABLE_ERRORS
        return DeliveryError(f"slack {action}: {code}", retriable=retriable)
    if isinstance(exc, asyncio.TimeoutError):
        return DeliveryError(f"slack {action}: timed out", retriable=True, uncertain=True)
    if isinstance(exc, aiohttp.ClientError | SlackClientError | OSError):
        return DeliveryError(f"slack {action}: {type(exc).__name__}", retriable=True, uncertain=True)
    return DeliveryError(f"slack {action}: unexpected {type(exc).__name__}", retriable=False)


CAUGHT: tuple[type[BaseException], ...] = (
    SlackApiError,
    SlackClientError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
)


async def call(action: str, fn: Callable[[], Awaitable[T]]) -> T:
    """Run one Web API call, turning every Slack or network failure into a DeliveryError."""
    try:
        return await fn()
    except CAUGHT as exc:
        raise to_delivery_error(exc, action) from exc
