"""Who a Slack user is: display name, avatar, locale and admin flags.

``users.info`` (with ``include_locale``) is rate limited per workspace, so the
answers are cached for an hour in a bounded table in memory. A failed lookup
is not cached: the next message tries again, and the caller falls back to what
the event itself carries.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import DeliveryError

log = logging.getLogger(__name__)

# (team, user id) -> the ``user`` object; raises DeliveryError when Slack cannot answer
Lookup = Callable[[str, str], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class SlackUser:
    """The parts of a Slack user Agora needs."""

    id: str
    name: str
    avatar_url: str | None = None
    locale: str | None = None
    is_admin: bool = False
    is_bot: bool = False


def user_from_api(data: Mapping[str, Any]) -> SlackUser:
    """A ``users.info`` ``user`` object to a SlackUser; display name first, as Slack shows it."""
    profile: Mapping[str, Any] = data.get("profile") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or data.get("real_name")
        or data.get("name")
        or str(data.get("id", "?"))
    )
    return SlackUser(
        id=str(data.get("id", "")),
        name=str(name),
        avatar_url=profile.get("image_192") or profile.get("image_72") or None,
        locale=data.get("locale") or None,
        is_admin=bool(data.get("is_admin") or data.get("is_owner") or data.get("is_primary_owner")),
        is_bot=bool(data.get("is_bot")),
    )


class UserDirectory:
    """A bounded, expiring cache in front of ``users.info``."""

    def __init__(self, lookup: Lookup, *, ttl: float = 3600.0, size: int = 5000) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._size = size
        self._cache: OrderedDict[tuple[str, str], tuple[float, SlackUser]] = OrderedDict()

    async def get(self, team: str, user_id: str) -> SlackUser | None:
        """The user, or None when Slack could not say (the caller falls back to the event's data)."""
        key = (team, user_id)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            self._cache.move_to_end(key)
            return hit[1]
        try:
            data = await self._lookup(team, user_id)
        except DeliveryError as exc:  # never block a relay on a profile
            log.warning("slack: users.info for %s in %s failed: %s", user_id, team, exc)
            return hit[1] if hit is not None else None
        user = user_from_api(data)
        self._cache[key] = (now, user)
        self._cache.move_to_end(key)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return user

    def forget(self, team: str, user_id: str) -> None:
        """Drop a cached profile (``user_change`` events, tests)."""
        self._cache.pop((team, user_id), None)
