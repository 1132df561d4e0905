"""Turns a stored copy into the posts an adapter makes.

Translation happens here, at delivery time, not when the event arrives: the
event, its copies and their outbox rows are committed first, so a crash or a
slow engine never loses a message. Each (message, language, version) is
translated once, however many channels read that language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import TranslationError
from bot.events import Author, CopyMeta, OutgoingMessage
from bot.i18n import Catalog
from bot.model import Copy, StoredMessage
from bot.ports import GlossaryTerm, Translator
from bot.richtext import RichText, neutralise, plain, split, to_plain
from bot.store import MessageTranslation, Store
from bot.topics import Tagger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """What the composer needs to know about the destination platform."""

    max_text: int
    render: Callable[[RichText], str]


class Composer:
    """Builds attributed, translated, neutralised and split posts for a copy."""

    def __init__(self, store: Store, translator: Translator, tagger: Tagger, catalog: Catalog) -> None:
        self.store = store
        self.translator = translator
        self.tagger = tagger
        self.catalog = catalog
        self._inflight: dict[tuple[int, str, int], asyncio.Task[MessageTranslation]] = {}
        self._failing: set[str] = set()

    async def translation(self, msg: StoredMessage, lang: str) -> MessageTranslation:
        """The message in ``lang``: stored, in flight for another channel, or translated now."""
        version = self.store.message_version(msg.id)
        if msg.lang == lang:
            return MessageTranslation(msg.id, lang, version, msg.text, "original", True)
        stored = self.store.message_translation(msg.id, lang)
        if stored is not None and stored.version == version:
            return stored
        key = (msg.id, lang, version)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._translate(msg, lang, version))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def _translate(self, msg: StoredMessage, lang: str, version: int) -> MessageTranslation:
        terms = [GlossaryTerm(term, tuple(sorted(tr.items()))) for term, tr in self.store.glossary(msg.network)]
        try:
            result = await self.translator.translate(msg.text, msg.lang, lang, terms)
        except TranslationError as exc:
            problem = f"{msg.lang}->{lang}: {exc}"
            if problem not in self._failing:  # log once per problem, not once per message
                self._failing.add(problem)
                log.warning("translation failed, sending untranslated (%s)", problem)
            return MessageTranslation(msg.id, lang, version, msg.text, "failed", False)
        done = MessageTranslation(msg.id, lang, version, result.text, result.engine, result.translated)
        self.store.put_message_translation(done)
        return done

    async def posts(self, copy: Copy, target: Target) -> list[OutgoingMessage] | None:
        """The posts for a copy, or None when the message was deleted meanwhile."""
        msg = self.store.message(copy.message_id)
        if msg is None or msg.deleted:
            return None
        tr = await self.translation(msg, copy.lang)
        text = neutralise(tr.text)
        notice = msg.kind == "notice"  # the bot's own posts (digests) carry no footer
        footer = () if notice else self.footer(msg, copy.lang, tr)
        thread_id = self.thread_in(msg, copy)
        # The footer goes on its own line; adapters may mark it up (Discord: "\n-# "), so keep 8 spare.
        budget = max(64, target.max_text - len(target.render(footer)) - 8)
        parts = split(text, budget, measure=lambda r: len(target.render(r))) or [plain("…")]
        author = Author(
            msg.author_id, msg.author_name if notice else f"{msg.author_name} ({msg.city})", msg.author_avatar
        )
        labels = tuple(self.tagger.name(t, copy.lang) for t in msg.topics)
        meta = CopyMeta(
            message_id=msg.id,
            city=msg.city,
            lang=copy.lang,
            original_text=msg.text,
            original_lang=msg.lang,
            topics=msg.topics,
            topic_labels=labels,
            translated=tr.translated,
            own=msg.platform_id is None and msg.channel == copy.channel,
        )
        title = to_plain(text).replace("\n", " ").strip()[:90] or f"#{msg.id}"
        last = len(parts) - 1
        return [
            OutgoingMessage(
                channel=copy.channel,
                text=part,
                nonce=f"agora-{copy.id}-{i}",
                author=author,
                thread_id=thread_id,
                starts_thread=msg.root_id is None and i == 0 and not notice,
                thread_title=title,
                footer=footer if i == last else (),
                meta=meta,
            )
            for i, part in enumerate(parts)
        ]

    def thread_in(self, msg: StoredMessage, copy: Copy) -> str | None:
        """Where a reply goes in the copy's channel: the thread of its question there."""
        if msg.root_id is None:
            return None
        root = self.store.message(msg.root_id)
        if root is None:
            return None
        if root.channel == copy.channel and root.platform_id:
            return root.platform_id
        root_copy = self.store.copy_in(root.id, copy.channel)
        if root_copy is None or not root_copy.platform_ids:
            return None
        return root_copy.thread_id or root_copy.platform_ids[0]

    def footer(self, msg: StoredMessage, lang: str, tr: MessageTranslation) -> RichText:
        """Topics, translation note and the way to the original, in the reader's language."""
        bits: list[str] = []
        if msg.topics:
            bits.append("🏷 " + ", ".join(self.tagger.name(t, lang) for t in msg.topics))
        if msg.lang != lang:
            language = self.catalog.t(f"lang.{msg.lang}", lang)
            key = "copy.translated" if tr.translated else "copy.untranslated"
            bits.append(self.catalog.t(key, lang, language=language))
        if msg.edited_at:
            bits.append(self.catalog.t("copy.edited", lang))
        bits.append(self.catalog.t("copy.original", lang, id=msg.id))
        return plain(" · ".join(bits))
