"""Making Discord's refusals surface at once, as DeliveryError, instead of being slept on.

discord.py waits out a 429 itself: its webhook client sleeps for any
``retry_after`` and retries (up to five times), and its bot client sleeps
whenever ``retry_after`` is under ``max_ratelimit_timeout``, which it never
lets go below 30 seconds. Sleeping inside ``send`` would hold a channel's
outbox worker with a row the outbox could have rescheduled, so:

* webhook calls (posts, edits, deletes) go through Agora's own aiohttp session
  whose middleware turns a 429 or 5xx answer into :class:`Surfaced` before
  discord.py sees it;
* the bot client's ``http.max_ratelimit_timeout`` is lowered after
  construction, so a longer wait raises :class:`discord.RateLimited`.

:func:`delivery_error` then maps every failure to retriable or permanent.
"""

from __future__ import annotations

import logging

import aiohttp
import discord

from bot.errors import DeliveryError

log = logging.getLogger(__name__)


class Surfaced(Exception):
    """Discord answered 429 or 5xx to a webhook call; the outbox decides when to retry."""

    def __init__(self, status: int, retry_after: float | None, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.retry_after = retry_after


async def _surface(request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
    response = await handler(request)
    if response.status != 429 and response.status < 500:
        return response
    retry_after: float | None = None
    detail = response.reason or ""
    try:
        body = await response.json(content_type=None)
        if isinstance(body, dict):
            detail = str(body.get("message", detail))
            if body.get("retry_after") is not None:
                retry_after = float(body["retry_after"])
    except (ValueError, aiohttp.ClientError):
        pass
    if retry_after is None and response.headers.get("Retry-After"):
        try:
            retry_after = float(response.headers["Retry-After"])
        except ValueError:
            retry_after = None
    response.release()
    raise Surfaced(response.status, retry_after, detail)


def webhook_session(timeout: float) -> aiohttp.ClientSession:
    """The session Agora's webhooks use: no waiting on 429/5xx, no call longer than ``timeout``."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), middlewares=(_surface,))


def delivery_error(exc: BaseException, action: str) -> DeliveryError:
    """The DeliveryError for a failed Discord call: throttling and outages are retriable."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, Surfaced):
        return DeliveryError(f"{action}: {exc}", retriable=True, retry_after=exc.retry_after)
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(f"{action}: rate limited", retriable=True, retry_after=exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        reason = f"{action}: HTTP {exc.status} (code {exc.code}) {exc.text}".strip()
        if exc.status == 429:
            header = exc.response.headers.get("Retry-After") if exc.response is not None else None
            try:
                after = float(header) if header else None
            except ValueError:
                after = None
            return DeliveryError(reason, retriable=True, retry_after=after)
        return DeliveryError(reason, retriable=exc.status >= 500)
    if isinstance(exc, TimeoutError | aiohttp.ClientError | OSError):
        return DeliveryError(f"{action}: {type(exc).__name__}: {exc}", retriable=True, uncertain=True)
    if isinstance(exc, discord.DiscordException):
        return DeliveryError(f"{action}: {type(exc).__name__}: {exc}", retriable=False)
    log.error("unexpected error from Discord while trying to %s", action, exc_info=exc)
    return DeliveryError(f"{action}: unexpected {type(exc).__name__}: {exc}", retriable=True)
