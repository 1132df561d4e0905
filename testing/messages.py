"""Stored messages for tests and benchmarks that need a history without relaying it."""

from __future__ import annotations

from collections.abc import Sequence

from bot.events import ChannelRef
from bot.richtext import plain
from bot.store import Store


def add_message(
    store: Store,
    network: str,
    channel: ChannelRef,
    text: str,
    lang: str = "en",
    *,
    kind: str = "question",
    root_id: int | None = None,
    topics: Sequence[str] = (),
    city: str = "Boston",
    country: str = "US",
    author: str = "Ana",
    platform_id: str | None = None,
) -> int:
    """Store ``text`` (a question unless ``kind`` says otherwise) and return its id."""
    return store.add_message(
        network=network,
        channel=channel,
        platform_id=platform_id,
        root_id=root_id,
        kind=kind,
        author_id="u",
        author_name=author,
        author_avatar=None,
        city=city,
        country=country,
        text=plain(text),
        lang=lang,
        topics=topics,
    )
