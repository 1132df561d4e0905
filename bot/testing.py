"""A collecting adapter: the core's test backend (errbot's TestBackend, Rasa's CollectingOutputChannel).

It implements the real Adapter protocol and records every post, edit and
delete per channel, so tests and benchmarks drive the real relay, store and
outbox without a platform. Failures are injected per channel. Shipped in the
package, like opsdroid's testing helpers, so plugin authors can use it too.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import DeliveryError
from bot.events import Attachment, ChannelRef, Event, MessageRef, OutgoingMessage
from bot.ports import Check, EventSink
from bot.richtext import RichText, to_plain


@dataclass
class Post:
    id: str
    msg: OutgoingMessage
    text: str
    deleted: bool = False
    edits: list[str] = field(default_factory=list)
    uploads: list[tuple[str, bytes]] = field(default_factory=list)  # (name, content) as uploaded


class CollectingAdapter:
    platform = "fake"
    max_text = 2000
    pace = 0.0

    def __init__(self, platform: str = "fake", max_text: int = 2000) -> None:
        self.platform = platform
        self.max_text = max_text
        self.sink: EventSink | None = None
        self.posts: dict[ChannelRef, list[Post]] = defaultdict(list)
        self.by_id: dict[str, Post] = {}
        self.calls: list[tuple[str, ChannelRef, float]] = []
        self.failures: dict[ChannelRef, list[DeliveryError]] = defaultdict(list)
        self._ids = itertools.count(1000)
        self.hosted: dict[str, bytes] = {}  # url -> content: the files this "platform" lets the bot fetch
        self.max_upload = 8 * 1024 * 1024
        self.fetches: list[str] = []

    # test helpers -------------------------------------------------------
    async def emit(self, event: Event) -> None:
        assert self.sink is not None, "adapter not started"
        await self.sink(event)

    def fail_next(self, channel: ChannelRef, *errors: DeliveryError) -> None:
        self.failures[channel].extend(errors)

    def texts(self, channel: ChannelRef) -> list[str]:
        return [p.text for p in self.posts[channel] if not p.deleted]

    # Adapter protocol ---------------------------------------------------
    def render(self, text: RichText) -> str:
        return to_plain(text)

    async def start(self, sink: EventSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def _maybe_fail(self, channel: ChannelRef, op: str) -> None:
        self.calls.append((op, channel, time.monotonic()))
        if self.failures[channel]:
            raise self.failures[channel].pop(0)

    async def send(self, msg: OutgoingMessage) -> MessageRef:
        self._maybe_fail(msg.channel, "send")
        pid = str(next(self._ids))
        uploads = [(f.name, Path(f.path).read_bytes()) for f in msg.files]
        post = Post(pid, msg, to_plain(msg.text), uploads=uploads)
        self.posts[msg.channel].append(post)
        self.by_id[pid] = post
        return MessageRef(msg.channel, pid, msg.thread_id or pid)

    async def edit(self, ref: MessageRef, msg: OutgoingMessage) -> None:
        self._maybe_fail(ref.channel, "edit")
        post = self.by_id[ref.id]
        post.edits.append(post.text)
        post.text = to_plain(msg.text)
        post.msg = msg

    async def delete(self, ref: MessageRef) -> None:
        self._maybe_fail(ref.channel, "delete")
        self.by_id[ref.id].deleted = True

    async def find_sent(self, msg: OutgoingMessage) -> MessageRef | None:
        for post in self.posts[msg.channel]:
            if post.msg.nonce == msg.nonce:
                return MessageRef(msg.channel, post.id, post.msg.thread_id or post.id)
        return None

    async def fetch(self, attachment: Attachment, channel: ChannelRef) -> bytes:
        self.fetches.append(attachment.url)
        if attachment.url not in self.hosted:
            raise DeliveryError(f"HTTP 404 for {attachment.name}", retriable=False)
        return self.hosted[attachment.url]

    def upload_limit(self, channel: ChannelRef) -> int:
        return self.max_upload

    def checks(self) -> list[Check]:
        return [Check("fake adapter", True)]
