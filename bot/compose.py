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
from bot.events import Author, CopyMeta, OutgoingFile, OutgoingMessage
from bot.files import Files, human_size
from bot.i18n import Catalog
from bot.model import Copy, StoredMessage
from bot.ports import GlossaryTerm, Translator
from bot.richtext import LineBreak, RichText, Text, neutralise, plain, split, to_plain
from bot.store import ERASED, FETCHED, TOO_LARGE, MessageTranslation, Store
from bot.topics import Tagger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """What the composer needs to know about the destination platform."""

    max_text: int
    render: Callable[[RichText], str]
    upload_limit: int = 0  # bytes; 0: files are announced, not uploaded


class Composer:
    """Builds attributed, translated, neutralised and split posts for a copy."""

    def __init__(
        self, store: Store, translator: Translator, tagger: Tagger, catalog: Catalog, files: Files | None = None
    ) -> None:
        self.store = store
        self.files = files
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
        uploads, notes = await self.attachments(msg, copy.lang, target)
        text = neutralise(tr.text)
        for note in notes:  # after translation: file names are never translated
            text = (*text, LineBreak(), Text(note)) if text else (Text(note),)
        notice = msg.kind == "notice"  # the bot's own posts (digests) carry no footer
        footer = () if notice else self.footer(msg, copy.lang, tr)
        thread_id = self.thread_in(msg, copy)
        # The footer goes on its own line; adapters may mark it up (Discord: "\n-# "), so keep 8 spare.
        budget = max(64, target.max_text - len(target.render(footer)) - 8)
        parts = split(text, budget, measure=lambda r: len(target.render(r))) or [plain("📎" if uploads else "…")]
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
                files=uploads if i == 0 else (),
            )
            for i, part in enumerate(parts)
        ]

    async def attachments(
        self, msg: StoredMessage, lang: str, target: Target
    ) -> tuple[tuple[OutgoingFile, ...], list[str]]:
        """The files a copy uploads, and a line for each one it cannot carry (never silently dropped)."""
        if self.files is None:
            return (), []
        uploads: list[OutgoingFile] = []
        notes: list[str] = []
        for f in await self.files.ready(msg.id):
            size = human_size(f.size)
            path = self.files.blobs.path(f.key) if f.key else None
            if f.state == ERASED:
                continue
            if f.state == FETCHED and path is not None and f.size is not None and 0 < f.size <= target.upload_limit:
                uploads.append(OutgoingFile(f.key or "", f.name, f.size, f.mime, str(path)))
                continue
            if f.state == FETCHED and path is not None and target.upload_limit:
                key, limit = "file.too_large_here", human_size(target.upload_limit)
            elif f.state == FETCHED and path is not None:
                key, limit = "file.no_upload_here", ""
            elif f.state == TOO_LARGE:
                key, limit = "file.too_large", f.error or ""
            else:
                key, limit = "file.not_fetched", f.error or ""
            notes.append(self.catalog.t(key, lang, name=f.name, size=size, city=msg.city, limit=limit))
        return tuple(uploads), notes

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
