"""Records the store hands out: networks, city channels and relayed messages."""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import ChannelRef
from bot.languages import MODES as MODES  # re-exported for the config and the store
from bot.richtext import RichText


@dataclass(frozen=True, slots=True)
class Channel:
    """A linked city channel: where it is, whose it is, what it reads."""

    ref: ChannelRef
    network: str
    city: str
    lang: str
    mode: str = "questions"
    country: str = ""
    subscriptions: tuple[str, ...] = ()
    digest: bool = False


@dataclass(frozen=True, slots=True)
class Network:
    """A set of linked channels sharing one join code."""

    name: str
    join_code: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """An original message (a question, a reply, or a mirrored post).

    ``root_id`` is the question it answers (None for roots); ``platform_id`` is
    its id in the source channel, None for ``/ask`` questions, which exist on
    the platforms only as copies.
    """

    id: int
    network: str
    channel: ChannelRef
    platform_id: str | None
    root_id: int | None
    kind: str
    author_id: str
    author_name: str
    author_avatar: str | None
    city: str
    text: RichText
    lang: str
    topics: tuple[str, ...]
    created_at: float
    edited_at: float | None = None
    deleted: bool = False
    country: str = ""


@dataclass(frozen=True, slots=True)
class Copy:
    """One message's copy in one channel; ``platform_ids`` has one id per split part."""

    id: int
    message_id: int
    channel: ChannelRef
    lang: str
    platform_ids: tuple[str, ...]
    thread_id: str | None
