"""Fan-out: which channels get a copy of a message, committed with the message.

A question (``/ask`` or a top-level post in a mirror channel) gets a copy in
every linked channel of its network that follows its topics; a reply in any
copy's thread gets a copy in every other channel holding that question. The
message, its copies and their outbox rows land in one transaction, and only
then are the workers woken.

Tagging runs in a worker thread (:mod:`bot.tagging_thread`) so the loop stays
free meanwhile; messages, edits and deletes still go through one at a time, in
the order they arrived, so a reply never overtakes its question and a delete
never misses the message still being tagged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from bot.config import Config
from bot.errors import CommandError
from bot.events import Attachment, Author, ChannelRef, IncomingMessage, MessageDeleted, MessageEdited
from bot.model import Channel, StoredMessage
from bot.ports import Translator
from bot.richtext import RichText, is_blank, to_plain
from bot.store import DELETE, EDIT, SEND, Store
from bot.tagging import TopicTagger
from bot.tagging_thread import TaggingThread

log = logging.getLogger(__name__)


class Relay:
    """Turns incoming events into stored messages, copies and outbox rows."""

    def __init__(
        self,
        store: Store,
        translator: Translator,
        tagger: TopicTagger,
        wake: Callable[[ChannelRef], None],
        config: Config,
        fetch_files: Callable[[int], None] = lambda _message_id: None,
    ) -> None:
        self.store = store
        self.fetch_files = fetch_files
        self.translator = translator
        self.tagger = tagger
        self.tagging = TaggingThread(tagger)
        self._in_order = asyncio.Lock()  # FIFO: events are stored in the order they arrived
        self.queued = 0  # events waiting for their turn or being tagged and stored
        self.wake = wake
        self.config = config
        self.on_relayed: Callable[[str], None] = lambda _platform: None  # metrics: a message stored and queued

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """One event at a time, first come first served, while tagging runs off the loop."""
        self.queued += 1
        try:
            async with self._in_order:
                yield
        finally:
            self.queued -= 1

    # ------------------------------------------------------------ questions

    async def ask(self, channel: Channel, author: Author, text: RichText) -> tuple[int, int]:
        """Store an ``/ask`` question and queue its copies, the asker's channel included.

        Returns (message id, number of other channels it goes to). Raises
        CommandError on empty or over-long text, before anything is written.
        """
        self.check_text(text)
        async with self._turn():
            msg_id, targets = await self._store_root(channel, author, text, platform_id=None, kind="question", key=None)
        return msg_id, len([t for t in targets if t.ref != channel.ref])

    def check_text(self, text: RichText) -> None:
        """Refuse what must not be relayed: nothing to say, or far too much."""
        if is_blank(text):
            raise CommandError("error.empty_text")
        length = len(to_plain(text))
        if length > self.config.max_message_length:
            raise CommandError("error.too_long", length=length, limit=self.config.max_message_length)

    async def on_message(self, ev: IncomingMessage) -> None:
        """A post in a linked channel: relay it if it is a thread reply or the channel mirrors."""
        channel = self.store.channel(ev.channel)
        if channel is None:
            return
        if self.store.post_at(ev.channel, ev.id) is not None:
            return  # our own copy coming back: never relay it
        if ev.author.is_bot and not self.config.relay_bots:
            return
        text = ev.text
        if is_blank(text) and not ev.attachments:
            return
        length = len(to_plain(text))
        if length > self.config.max_message_length:
            log.info("not relaying message %s in %s: %d characters is over the limit", ev.id, ev.channel, length)
            return
        key = ev.event_id or f"msg:{ev.channel}:{ev.id}"
        async with self._turn():
            root = self.root_of(ev.channel, ev.thread_id) if ev.thread_id and ev.thread_id != ev.id else None
            if root is not None:
                await self._store_reply(channel, ev, text, root, key)
            elif channel.mode == "mirror":  # a top-level post, or a reply in a thread Agora does not relay
                await self._store_root(
                    channel, ev.author, text, platform_id=ev.id, kind="mirror", key=key, attachments=ev.attachments
                )

    def root_of(self, channel: ChannelRef, platform_id: str) -> StoredMessage | None:
        """The question a thread in ``channel`` belongs to, through a copy or the original."""
        found = self.store.post_at(channel, platform_id)
        msg = self.store.message(found[1]) if found else self.store.original_at(channel, platform_id)
        if msg is None:
            return None
        if msg.root_id is not None:
            return self.store.message(msg.root_id)
        return msg

    async def _store_root(
        self,
        channel: Channel,
        author: Author,
        text: RichText,
        *,
        platform_id: str | None,
        kind: str,
        key: str | None,
        attachments: tuple[Attachment, ...] = (),
    ) -> tuple[int, list[Channel]]:
        return await self._store(
            channel, author, text, platform_id=platform_id, root=None, kind=kind, key=key, attachments=attachments
        )

    async def _store_reply(
        self, channel: Channel, ev: IncomingMessage, text: RichText, root: StoredMessage, key: str
    ) -> None:
        await self._store(
            channel, ev.author, text, platform_id=ev.id, root=root, kind="reply", key=key, attachments=ev.attachments
        )

    def _targets(
        self, channel: Channel, topics: tuple[str, ...], root: StoredMessage | None, asked: bool
    ) -> list[Channel]:
        """Who gets a copy: the question's holders for a reply, the following channels for a question."""
        if root is not None:
            holders = {c.channel for c in self.store.copies_of(root.id)}
            if root.platform_id is not None:
                holders.add(root.channel)
            holders.discard(channel.ref)
            return [c for c in (self.store.channel(ref) for ref in sorted(holders)) if c is not None]
        return [
            c
            for c in self.store.network_channels(channel.network)
            if (c.ref == channel.ref and asked) or (c.ref != channel.ref and follows(c, topics))
        ]

    async def _store(
        self,
        channel: Channel,
        author: Author,
        text: RichText,
        *,
        platform_id: str | None,
        root: StoredMessage | None,
        kind: str,
        key: str | None,
        attachments: tuple[Attachment, ...] = (),
    ) -> tuple[int, list[Channel]]:
        """Commit the message, its copies and their outbox rows together, then wake the workers."""
        plain_text = to_plain(text)
        lang = self.translator.detect(plain_text, channel.lang)
        network = root.network if root else channel.network
        tagged = await self.tagging.tag(plain_text, lang, network=network, thread=root.topics if root else ())
        topics = tagged.topics
        targets = self._targets(channel, topics, root, asked=platform_id is None)
        with self.store.transaction():
            if key is not None and self.store.seen_event(key):
                return 0, []
            if platform_id is not None and self.store.original_at(channel.ref, platform_id):
                return 0, []
            msg_id = self.store.add_message(
                network=root.network if root else channel.network,
                channel=channel.ref,
                platform_id=platform_id,
                root_id=root.id if root else None,
                kind=kind,
                author_id=author.id,
                author_name=author.name,
                author_avatar=author.avatar_url,
                city=channel.city,
                country=channel.country,
                text=text,
                lang=lang,
                topics=topics,
            )
            self.store.add_files(msg_id, attachments)
            for target in targets:
                copy_id = self.store.add_copy(msg_id, target.ref, target.lang)
                self.store.enqueue(target.ref, copy_id, SEND)
        self.on_relayed(channel.ref.platform)
        if attachments:
            self.fetch_files(msg_id)
        for target in targets:
            self.wake(target.ref)
        return msg_id, targets

    # ------------------------------------------------------------ edits and deletes

    def _edited_message(self, channel: ChannelRef, platform_id: str) -> StoredMessage | None:
        """The message an edit or delete in ``channel`` refers to.

        An original edited by its author, or the asker's own copy of an
        ``/ask`` question (on platforms where that copy is what the asker sees).
        """
        msg = self.store.original_at(channel, platform_id)
        if msg is not None:
            return msg
        found = self.store.post_at(channel, platform_id)
        if found is None:
            return None
        msg = self.store.message(found[1])
        if msg is not None and msg.platform_id is None and msg.channel == channel:
            return msg
        return None

    async def on_edit(self, ev: MessageEdited) -> int | None:
        """Store an edit and queue it to every copy; returns the edited message's id, if any."""
        async with self._turn():
            return await self._edit(ev)

    async def _edit(self, ev: MessageEdited) -> int | None:
        msg = self._edited_message(ev.channel, ev.id)
        if msg is None or msg.deleted or is_blank(ev.text) or ev.text == msg.text:
            return None
        channel = self.store.channel(msg.channel)
        plain_text = to_plain(ev.text)
        lang = self.translator.detect(plain_text, channel.lang if channel else msg.lang)
        root = self.store.message(msg.root_id) if msg.root_id is not None else None
        tagged = await self.tagging.tag(plain_text, lang, network=msg.network, thread=root.topics if root else ())
        topics = tagged.topics
        copies = self.store.copies_of(msg.id)
        with self.store.transaction():
            if ev.event_id and self.store.seen_event(ev.event_id):
                return None
            self.store.edit_message(msg.id, ev.text, lang, topics)
            for copy in copies:
                self.store.enqueue(copy.channel, copy.id, EDIT)
        for copy in copies:
            self.wake(copy.channel)
        return msg.id

    async def on_delete(self, ev: MessageDeleted) -> None:
        async with self._turn():  # after any message still being tagged: it may be the one deleted
            self._delete(ev)

    def _delete(self, ev: MessageDeleted) -> None:
        msg = self._edited_message(ev.channel, ev.id)
        if msg is None or msg.deleted:
            return
        copies = self.store.copies_of(msg.id)
        with self.store.transaction():
            self.store.delete_message(msg.id)
            for copy in copies:
                if copy.channel == ev.channel and ev.id in copy.platform_ids:
                    continue  # the post the author just deleted
                self.store.enqueue(copy.channel, copy.id, DELETE)
        for copy in copies:
            self.wake(copy.channel)

    def close(self) -> None:
        """Stop the tagging thread (blocks until the message it is tagging is done)."""
        self.tagging.close()


def follows(channel: Channel, topics: tuple[str, ...]) -> bool:
    """Subscribed channels get questions on their topics, and every untagged question."""
    return not channel.subscriptions or not topics or bool(set(channel.subscriptions) & set(topics))
