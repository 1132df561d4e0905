"""Names for the ids in Slack mentions, so readers in other cities see people, not ids.

Slack clients send ``<@U0LUIS>``, ``<#C0456>`` and ``<!subteam^S0DATA>`` (and
the same ids in rich_text blocks) without a label. Before a message reaches
the core, every mention without a label gets one: users from ``users.info``
(display name, else real name; the cache the adapter already keeps for
authors), channels from ``conversations.info``, user groups from
``usergroups.list`` (their handle; the app asks for ``usergroups:read``).
Answers are cached with a bounded size and a time to live. A failed lookup
never shows the bare id: the label becomes ``unknown-user``, ``unknown`` or
``group``, the way Discord labels mentions it cannot resolve. Mentions stay
mentions here; the copies the core renders still ping nobody.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from adapters.slack.users import UserDirectory
from bot.errors import DeliveryError
from bot.richtext import Mention, Quote, RichText, Segment, Styled

log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")

UNKNOWN_USER = "unknown-user"
UNKNOWN_CHANNEL = "unknown"
UNKNOWN_GROUP = "group"


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What Agora needs of ``conversations.info``: the name, and the creator for link rights."""

    name: str
    creator: str = ""


class TtlCache(Generic[K, V]):
    """A small LRU map whose entries expire; ``None`` answers mean "not cached"."""

    def __init__(self, *, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        hit = self._items.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.ttl:
            return None
        self._items.move_to_end(key)
        return hit[1]

    def put(self, key: K, value: V) -> None:
        self._items[key] = (time.monotonic(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget(self, key: K) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


# (team, channel id) -> conversations.info's ``channel``; raises DeliveryError
ChannelLookup = Callable[[str, str], Awaitable[Mapping[str, object]]]
# team -> usergroups.list's ``usergroups``; raises DeliveryError
GroupsLookup = Callable[[str], Awaitable[Sequence[Mapping[str, object]]]]


class Names:
    """Labels for user, channel and user-group mentions, cached per workspace."""

    def __init__(
        self,
        users: UserDirectory,
        channel_lookup: ChannelLookup,
        groups_lookup: GroupsLookup,
        *,
        ttl: float = 3600.0,
        size: int = 5000,
        retry_after_failure: float = 300.0,
    ) -> None:
        self.users = users
        self._channel_lookup = channel_lookup
        self._groups_lookup = groups_lookup
        self._channels: TtlCache[tuple[str, str], ChannelInfo] = TtlCache(ttl=ttl, size=size)
        self._groups: TtlCache[str, dict[str, str]] = TtlCache(ttl=ttl, size=max(1, size // 100))
        self._failed: TtlCache[tuple[str, str], bool] = TtlCache(ttl=retry_after_failure, size=size)

    async def channel(self, team: str, channel: str) -> ChannelInfo | None:
        """A channel's name and creator, or None when Slack cannot say."""
        key = (team, channel)
        hit = self._channels.get(key)
        if hit is not None:
            return hit
        if self._failed.get(("channel", f"{team}/{channel}")):
            return None
        try:
            data = await self._channel_lookup(team, channel)
        except DeliveryError as exc:
            log.info("slack: conversations.info for %s in %s failed: %s", channel, team, exc.reason)
            self._failed.put(("channel", f"{team}/{channel}"), True)
            return None
        info = ChannelInfo(name=str(data.get("name") or ""), creator=str(data.get("creator") or ""))
        self._channels.put(key, info)
        return info

    async def group(self, team: str, group: str) -> str | None:
        """A user group's handle, or None (no ``usergroups:read``, or an unknown group)."""
        handles = self._groups.get(team)
        if handles is None:
            if self._failed.get(("groups", team)):
                return None
            try:
                groups = await self._groups_lookup(team)
            except DeliveryError as exc:
                log.info("slack: usergroups.list in %s failed: %s; groups show as @group", team, exc.reason)
                self._failed.put(("groups", team), True)
                return None
            handles = {str(g.get("id")): str(g.get("handle") or g.get("name") or "") for g in groups if g.get("id")}
            self._groups.put(team, handles)
        return handles.get(group) or None

    def forget_channel(self, team: str, channel: str) -> None:
        """Drop a cached channel (renames, ``channel_rename`` events)."""
        self._channels.forget((team, channel))

    def forget_groups(self, team: str) -> None:
        """Drop a workspace's cached groups (``subteam_*`` events)."""
        self._groups.forget(team)

    async def label(self, team: str, rt: RichText) -> RichText:
        """``rt`` with a name on every mention that has none."""
        if not any(isinstance(seg, Mention) and not seg.label for seg in _walk(rt)):
            return rt
        return tuple([await self._segment(team, seg) for seg in rt])

    async def _segment(self, team: str, seg: Segment) -> Segment:
        if isinstance(seg, Mention) and not seg.label:
            return replace(seg, label=await self._label(team, seg))
        if isinstance(seg, Styled):
            return replace(seg, children=await self.label(team, seg.children))
        if isinstance(seg, Quote):
            return Quote(await self.label(team, seg.children))
        return seg

    async def _label(self, team: str, mention: Mention) -> str:
        if mention.kind == "user":
            user = await self.users.get(team, mention.id) if mention.id else None
            return user.name if user is not None and user.name != user.id else UNKNOWN_USER
        if mention.kind == "channel":
            info = await self.channel(team, mention.id) if mention.id else None
            return info.name if info is not None and info.name else UNKNOWN_CHANNEL
        if mention.kind == "group":
            handle = await self.group(team, mention.id) if mention.id else None
            return handle.lstrip("@") if handle else UNKNOWN_GROUP
        return ""  # broadcasts keep their range as id


def _walk(rt: RichText) -> list[Segment]:
    out: list[Segment] = []
    for seg in rt:
        out.append(seg)
        if isinstance(seg, Styled | Quote):
            out.extend(_walk(seg.children))
    return out
