"""What each command does. The table in :mod:`bot.commands` says how it is typed.

Every handler validates before it writes, so a refused command changes
nothing; refusals are CommandErrors rendered in the caller's language.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import commands
from bot.commands import ParsedCommand
from bot.config import NETWORK_NAME, Config
from bot.deliveries import Deliveries
from bot.errors import AgoraError, CommandError, TranslationError
from bot.events import LANGUAGES, CommandInvoked, Reply, TranslateRequest
from bot.i18n import Catalog, language_of
from bot.model import Channel, StoredMessage
from bot.ports import Translator
from bot.relay import Relay
from bot.report import Reports
from bot.richtext import LineBreak, RichText, Segment, Styled, Text, plain, strip_invisible, to_plain
from bot.search import Search
from bot.similar import SimilarQuestion, SimilarQuestions
from bot.store import EDIT, GlossaryChange, Store, TagCorrection
from bot.supervision import Connections
from bot.tagging import Correction, TopicTagger, apply
from bot.topics import Tagger

log = logging.getLogger(__name__)
SUGGEST_TIMEOUT = 5.0  # seconds; covers the model's first load, then it takes milliseconds
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # catalog [weekday] keys


@dataclass(frozen=True, slots=True)
class Call:
    """One command call: who, where, in which language."""

    event: CommandInvoked
    command: ParsedCommand
    lang: str
    channel: Channel | None

    @property
    def linked(self) -> Channel:
        assert self.channel is not None  # guarded by spec.needs_link
        return self.channel


Handler = Callable[[Call], Awaitable[Reply]]


class Commands:
    """Dispatches parsed commands to their handlers."""

    def __init__(
        self,
        store: Store,
        relay: Relay,
        translator: Translator,
        tagger: Tagger,
        catalog: Catalog,
        reports: Reports,
        search: Search,
        config: Config,
        markup: Callable[[str, str], RichText],
        wake_digests: Callable[[], None] = lambda: None,
        deliveries: Deliveries | None = None,
        topic_tagger: TopicTagger | None = None,
        similar: SimilarQuestions | None = None,
        connections: Connections | None = None,
    ) -> None:
        self.store = store
        self.relay = relay
        self.translator = translator
        self.tagger = tagger
        self.catalog = catalog
        self.reports = reports
        self.search_engine = search
        self.config = config
        self.wake_digests = wake_digests
        self.markup = markup
        self.deliveries = deliveries or Deliveries(store, catalog, relay.wake)
        self.topic_tagger = topic_tagger or TopicTagger(tagger)
        self.similar = similar
        self.connections = connections
        self.handlers: dict[str, Handler] = {
            "ask": self.ask,
            "link": self.link,
            "unlink": self.unlink,
            "lang": self.lang,
            "mode": self.mode,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "topics": self.topics,
            "digest": self.digest,
            "search": self.search,
            "original": self.original,
            "similar": self.similar_to,
            "glossary": self.glossary,
            "status": self.status,
            "retry": self.retry,
            "help": self.help,
            "tag": self.tag,
        }
        missing = {spec.name for spec in commands.COMMANDS} - set(self.handlers)
        if missing:
            raise AgoraError(f"commands without handlers: {sorted(missing)}")

    def t(self, key: str, lang: str, **params: object) -> str:
        return self.catalog.t(key, lang, **params)

    def reply(self, key: str, lang: str, **params: object) -> Reply:
        return Reply(plain(self.t(key, lang, **params)))

    async def handle(self, ev: CommandInvoked) -> None:
        """Run a command and answer the caller, whatever happens."""
        channel = self.store.channel(ev.channel)
        lang = language_of(ev.locale, channel.lang if channel else self.config.default_lang)
        try:
            parsed = commands.parse(ev.name, ev.args)
            spec = parsed.spec
            if spec.needs_link and channel is None:
                raise CommandError("error.not_linked")
            if spec.manager_only and not ev.can_manage:
                raise CommandError("error.needs_manager")
            answer = await self.handlers[spec.name](Call(ev, parsed, lang, channel))
        except CommandError as exc:
            answer = self.reply(exc.key, lang, **exc.params)
        except Exception:
            log.exception("command /%s failed in %s", ev.name, ev.channel)
            answer = self.reply("error.internal", lang)
        await ev.reply(answer)

    async def translate_for(self, ev: TranslateRequest) -> None:
        """ "Translate for me": the message in the reader's own language, for them only."""
        channel = self.store.channel(ev.channel)
        lang = language_of(ev.locale, channel.lang if channel else self.config.default_lang)
        source = self.translator.detect(to_plain(ev.text), channel.lang if channel else None)
        text: RichText = ev.text
        if source != lang:
            try:
                text = (await self.translator.translate(ev.text, source, lang)).text
            except TranslationError as exc:
                log.warning("translate-for-me %s->%s failed: %s", source, lang, exc)
                text = (*ev.text, LineBreak(), Text(f"({self.t('copy.untranslated', lang)})"))
        await ev.reply(Reply(text, ephemeral=True))

    # ------------------------------------------------------------ relay

    async def ask(self, call: Call) -> Reply:
        ev = call.event
        text = self.markup(ev.channel.platform, call.command.text("question"))
        msg_id, others = await self.relay.ask(call.linked, ev.author, text)
        if others == 0:
            done = self.t("reply.asked_alone", call.lang, id=msg_id, network=call.linked.network)
        else:
            done = self.t("reply.asked", call.lang, id=msg_id, count=others)
        found = await self.suggestions(call.linked.network, msg_id, call.lang)
        data = {"similar": [q.as_json() for q in found]}
        if not found or self.similar is None:
            return Reply(plain(done), data=data)
        header = self.t("reply.similar_before", call.lang)
        return Reply((Text(done), LineBreak(), Text(header), *self.similar.lines(found, call.lang)), data=data)

    async def suggestions(self, network: str, msg_id: int, lang: str) -> tuple[SimilarQuestion, ...]:
        """Earlier questions like this one, found after it is committed, so the relay never waits.

        A failure or a slow model costs the suggestions, never the question.
        """
        msg = self.store.message(msg_id)
        if self.similar is None or msg is None:
            return ()
        await asyncio.sleep(0)  # let the just-woken delivery workers start first
        try:
            matches = await asyncio.wait_for(
                self.similar.suggest(network, msg_id, to_plain(msg.text), msg.lang), SUGGEST_TIMEOUT
            )
        except TimeoutError:
            log.warning("no suggestions for question %d: the embedder took over %.0f s", msg_id, SUGGEST_TIMEOUT)
            return ()
        except Exception:
            log.exception("no suggestions for question %d", msg_id)
            return ()
        return self.similar.describe(matches, lang)

    # ------------------------------------------------------------ links

    async def link(self, call: Call) -> Reply:
        name = call.command.text("network")
        code = call.command.text("code")
        city = call.command.text("city")
        if not NETWORK_NAME.match(name):
            raise CommandError("error.bad_network")
        if call.channel is not None:
            raise CommandError("error.already_linked", network=call.channel.network)
        network = self.store.network(name)
        created = network is None
        if network is None:
            city = " ".join(part for part in (code, city) if part)
        elif not code:
            raise CommandError("error.code_needed", network=name)
        elif code.strip().upper() != network.join_code.upper():
            log.info("wrong join code for network %s from %s", name, call.event.channel)
            raise CommandError("error.wrong_code", network=name)
        ref = call.event.channel
        channel = Channel(ref, name, city.strip()[:80] or ref.channel, call.lang)
        with self.store.transaction():
            if network is None:
                network = self.store.create_network(name)
            self.store.link_channel(channel, "command")
        if created:
            return self.reply("reply.linked_new", call.lang, network=name, code=network.join_code)
        others = len(self.store.network_channels(name)) - 1
        return self.reply("reply.linked", call.lang, network=name, count=others)

    async def unlink(self, call: Call) -> Reply:
        self.store.unlink_channel(call.linked.ref)
        return self.reply("reply.unlinked", call.lang, network=call.linked.network)

    async def lang(self, call: Call) -> Reply:
        new = call.command.text("language")
        self.store.update_channel(call.linked.ref, lang=new)
        return self.reply("reply.lang_set", new, language=self.t(f"lang.{new}", new))

    async def mode(self, call: Call) -> Reply:
        mode = call.command.text("mode")
        self.store.update_channel(call.linked.ref, mode=mode)
        return self.reply("reply.mode_set", call.lang, mode=mode)

    # ------------------------------------------------------------ topics

    def resolve_topics(self, words: tuple[str, ...], lang: str) -> list[str]:
        slugs: list[str] = []
        unknown: list[str] = []
        for word in words:
            slug = self.tagger.resolve(word)
            if slug is None:
                unknown.append(word[:40])
            elif slug not in slugs:
                slugs.append(slug)
        if unknown:
            valid = ", ".join(f"{t.slug} ({self.tagger.name(t.slug, lang)})" for t in self.tagger.topics)
            raise CommandError("error.unknown_topic", topics=", ".join(unknown), valid=valid)
        return slugs

    def topic_list(self, slugs: tuple[str, ...] | list[str], lang: str, *, none: bool = False) -> str:
        if not slugs:
            return self.t("reply.no_topics" if none else "reply.all_topics", lang)
        return ", ".join(self.tagger.name(s, lang) for s in slugs)

    async def subscribe(self, call: Call) -> Reply:
        slugs = self.resolve_topics(call.command.words("topics"), call.lang)
        current = list(call.linked.subscriptions)
        merged = current + [s for s in slugs if s not in current]
        self.store.update_channel(call.linked.ref, subscriptions=merged)
        return self.reply("reply.subscribed", call.lang, topics=self.topic_list(merged, call.lang))

    async def unsubscribe(self, call: Call) -> Reply:
        slugs = self.resolve_topics(call.command.words("topics"), call.lang)
        kept = [s for s in call.linked.subscriptions if s not in slugs]
        self.store.update_channel(call.linked.ref, subscriptions=kept)
        return self.reply("reply.unsubscribed", call.lang, topics=self.topic_list(kept, call.lang))

    async def topics(self, call: Call) -> Reply:
        days = call.command.number("days", 7)
        return await self.reports.topics_reply(call.linked.network, days, call.lang)

    async def digest(self, call: Call) -> Reply:
        on = call.command.text("state") == "on"
        self.store.update_channel(call.linked.ref, digest=on)
        self.store.set_digest_next(call.linked.ref, None)
        if not on:
            return self.reply("reply.digest_off", call.lang)
        self.wake_digests()
        weekday = self.t(f"weekday.{WEEKDAYS[self.config.digest_weekday]}", call.lang)
        return self.reply("reply.digest_on", call.lang, weekday=weekday, hour=self.config.digest_hour)

    # ------------------------------------------------------------ search and originals

    async def search(self, call: Call) -> Reply:
        return await self.search_engine.reply(call.linked.network, call.command.text("query"), call.lang)

    def message_in_network(self, token: str, network: str) -> StoredMessage:
        """The message a user means by ``#12``, ``12`` or a link ending in its number."""
        digits = re.findall(r"[0-9]+", token)  # ASCII digits only: "١٢" is not message 12
        msg = self.store.message(int(digits[-1])) if digits and len(digits[-1]) < 12 else None
        if msg is None or msg.deleted or msg.network != network:
            raise CommandError("error.unknown_message", message=token[:40])
        return msg

    async def original(self, call: Call) -> Reply:
        msg = self.message_in_network(call.command.text("message"), call.linked.network)
        header = self.t(
            "reply.original_header",
            call.lang,
            id=msg.id,
            author=msg.author_name,
            city=msg.city,
            language=self.t(f"lang.{msg.lang}", call.lang),
        )
        return Reply((Styled("bold", (Text(header),)), LineBreak(), *msg.text), ephemeral=True)

    async def similar_to(self, call: Call) -> Reply:
        token = call.command.text("message")
        digits = re.findall(r"\d+", token)
        msg = self.store.message(int(digits[-1])) if digits and len(digits[-1]) < 12 else None
        if msg is None or msg.deleted or msg.network != call.linked.network:
            raise CommandError("error.unknown_message", message=token[:40])
        if self.similar is None:
            raise CommandError("error.similar_off")
        found = self.similar.describe(await self.similar.like(msg.id), call.lang)
        if not found:
            return Reply(plain(self.t("reply.similar_none", call.lang, id=msg.id)), data={"similar": []})
        header = self.t("reply.similar_header", call.lang, id=msg.id)
        return Reply(
            (Text(header), *self.similar.lines(found, call.lang)), data={"similar": [q.as_json() for q in found]}
        )

    async def glossary(self, call: Call) -> Reply:
        network = call.linked.network
        action = call.command.text("action")
        if action == "list":
            terms = self.store.glossary(network)
            if not terms:
                return self.reply("reply.glossary_empty", call.lang, network=network)
            lines: list[Segment] = [Text(self.t("reply.glossary_list", call.lang, network=network))]
            for term, tr in terms:
                fixed = ", ".join(f"{k}={v}" for k, v in sorted(tr.items()))
                lines += [LineBreak(), Text(f"• {term}" + (f" ({fixed})" if fixed else ""))]
            return Reply(tuple(lines))
        if action == "changes":
            return self.glossary_history(call)
        if not (call.event.can_manage or self.config.glossary_members):
            raise CommandError("error.glossary_managers")
        term, translations = parse_glossary_term(call.command.text("term"))
        if not term:
            raise CommandError("error.glossary_term")
        author = call.event.author
        change = GlossaryChange(network, term, action, translations, author.id, author.name, call.event.channel)
        if action == "add":
            with self.store.transaction():
                self.store.add_glossary_term(network, term, translations)
                self.store.record_glossary_change(change)
            log.info("glossary of %s: %s added %r", network, author.id, term)
            return self.reply("reply.glossary_added", call.lang, term=term, network=network)
        with self.store.transaction():
            if not self.store.remove_glossary_term(network, term):
                raise CommandError("error.glossary_unknown", term=term, network=network)
            self.store.record_glossary_change(change)
        log.info("glossary of %s: %s removed %r", network, author.id, term)
        return self.reply("reply.glossary_removed", call.lang, term=term, network=network)

    async def tag(self, call: Call) -> Reply:
        """A manager corrects a message's topics; the thread's replies and similar new messages follow."""
        msg = self.message_in_network(call.command.text("message"), call.linked.network)
        added, removed = self.parse_changes(call.command.words("changes"), call.lang)
        after = apply(msg.topics, added, removed)
        text = to_plain(msg.text)
        vector = await asyncio.to_thread(self.topic_tagger.embed, text)  # off the loop, like the relay's tagging
        correction = TagCorrection(
            network=msg.network,
            message_id=msg.id,
            lang=msg.lang,
            text=text,
            before=msg.topics,
            after=after,
            added=added,
            removed=removed,
            vector=vector.tobytes() if vector is not None else None,
        )
        changed = {msg.id: after}
        for reply in self.store.replies(msg.id) if msg.root_id is None else []:  # they inherited its topics
            if (topics := apply(reply.topics, added, removed)) != reply.topics:
                changed[reply.id] = topics
        copies = [copy for message_id in changed for copy in self.store.copies_of(message_id)]
        with self.store.transaction():
            self.store.add_tag_correction(correction, call.event.author.id)
            for message_id, topics in changed.items():
                self.store.set_message_topics(message_id, topics)
            for copy in copies:  # every copy's footer shows the corrected topics
                self.store.enqueue(copy.channel, copy.id, EDIT)
        for copy in copies:
            self.relay.wake(copy.channel)
        if vector is not None:
            self.topic_tagger.remember(msg.network, Correction(msg.id, vector, added, removed))
        log.info("topics of message %s corrected by %s: +%s -%s", msg.id, call.event.author.id, added, removed)
        return self.reply("reply.tagged", call.lang, id=msg.id, topics=self.topic_list(after, call.lang, none=True))

    def parse_changes(self, words: tuple[str, ...], lang: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``+housing -budget`` (names in any language) -> (added, removed) slugs."""
        added: list[str] = []
        removed: list[str] = []
        usage = commands.find("agora tag")
        for word in words:
            sign, name = word[:1], word[1:].strip()
            if sign not in "+-" or not name:
                raise CommandError("error.tag_changes", usage=usage.usage() if usage else "")
            (slug,) = self.resolve_topics((name,), lang)
            target, other = (added, removed) if sign == "+" else (removed, added)
            if slug in other:
                other.remove(slug)
            if slug not in target:
                target.append(slug)
        return tuple(added), tuple(removed)

    def glossary_history(self, call: Call) -> Reply:
        """The latest glossary changes of the caller's network: who, from which city, when."""
        network = call.linked.network
        changes = self.store.glossary_changes(network)
        if not changes:
            return self.reply("reply.glossary_no_changes", call.lang, network=network)
        lines: list[Segment] = [Text(self.t("reply.glossary_changes", call.lang, network=network))]
        for change in changes:
            where = self.store.channel(change.channel)
            when = datetime.fromtimestamp(change.at, UTC).strftime("%Y-%m-%d %H:%M")
            line = self.t(
                f"reply.glossary_change_{change.action}",
                call.lang,
                when=when,
                who=change.actor_name or change.actor_id,
                city=where.city if where else change.channel.space,
                term=change.term,
            )
            fixed = ", ".join(f"{k}={v}" for k, v in sorted(change.translations.items()))
            lines += [LineBreak(), Text(f"• {line}" + (f" ({fixed})" if fixed else ""))]
        return Reply(tuple(lines))

    # ------------------------------------------------------------ status and help

    async def status(self, call: Call) -> Reply:
        if call.command.text("message"):
            if call.channel is None:
                raise CommandError("error.not_linked")
            return self.delivery_status(call)
        lang = call.lang
        lines = [self.t("status.header", lang)]
        ch = call.channel
        if ch is None:
            lines.append(self.t("status.not_linked", lang))
        else:
            network = self.store.network(ch.network)
            count = len(self.store.network_channels(ch.network))
            lines += [
                self.t("status.network", lang, network=ch.network, count=count),
                self.t("status.language", lang, language=self.t(f"lang.{ch.lang}", lang)),
                self.t("status.mode", lang, mode=ch.mode),
                self.t("status.topics", lang, topics=self.topic_list(ch.subscriptions, lang)),
                self.t("status.digest", lang, state=self.t("status.on" if ch.digest else "status.off", lang)),
                self.t("status.translator", lang, engine=self.translator.name),
                self.t("status.pending", lang, count=self.store.delivery_counts(ch.ref).get("pending", 0)),
            ]
            if network is not None and call.event.can_manage:
                lines.append(self.t("status.code", lang, code=network.join_code))
        lines += self.connection_lines(lang)
        return Reply(plain("\n".join(lines)))

    def delivery_status(self, call: Call) -> Reply:
        """Where each copy of one message is: delivered, waiting and why, parked and why."""
        msg = self.message_in_network(call.command.text("message"), call.linked.network)
        lang = call.lang
        found = self.deliveries.of(msg.id)
        lines = [self.t("delivery.header", lang, id=msg.id, city=msg.city)]
        if not found:
            lines.append(self.t("delivery.none", lang))
        for d in found:
            reason = d.reason or self.t("delivery.in_line", lang)
            lines.append(self.t(f"delivery.{d.state}", lang, city=d.city, reason=reason[:200], attempts=d.attempts))
        if any(d.state == "parked" for d in found):
            lines.append(self.t("delivery.retry_hint", lang, id=msg.id))
        return Reply(
            plain("\n".join(lines)),
            data={"message_id": msg.id, "deliveries": [d.as_json() for d in found]},
        )

    async def retry(self, call: Call) -> Reply:
        msg = self.message_in_network(call.command.text("message"), call.linked.network)
        count = self.deliveries.retry(msg.id)
        if count == 0:
            return self.reply("delivery.nothing_to_retry", call.lang, id=msg.id)
        return self.reply("delivery.retrying", call.lang, id=msg.id, count=count)

    def connection_lines(self, lang: str) -> list[str]:
        """One line per supervised platform connection, so a channel can tell Agora is listening."""
        if self.connections is None:
            return []
        now = self.connections.clock()
        lines = []
        for status in self.connections.snapshot():
            state = self.t(f"status.conn_{status.state}", lang, minutes=int(status.down_for(now) // 60))
            if status.reconnects:
                state += self.t("status.conn_reconnects", lang, count=status.reconnects)
            lines.append(self.t("status.connection", lang, platform=status.adapter.capitalize(), state=state))
        return lines

    async def help(self, call: Call) -> Reply:
        lines = [self.t("reply.help_header", call.lang)]
        for spec in commands.COMMANDS:
            lines.append(f"{spec.usage()} — {self.t(spec.help_key, call.lang)}")
        return Reply(plain("\n".join(lines)))


def parse_glossary_term(text: str) -> tuple[str, dict[str, str]]:
    """``Housing First es=Vivienda Primero pt="Moradia Primeiro"`` -> term and fixed translations."""
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    term_words: list[str] = []
    fixed: dict[str, str] = {}
    current: str | None = None
    for token in tokens:
        lang, eq, value = token.partition("=")
        if eq and lang.lower() in LANGUAGES:
            current = lang.lower()
            fixed[current] = value
        elif current is not None:
            fixed[current] = f"{fixed[current]} {token}".strip()
        else:
            term_words.append(token)
    term = strip_invisible(" ".join(term_words)).strip()[:100]
    cleaned = {k: strip_invisible(v).strip()[:100] for k, v in fixed.items()}
    return term, {k: v for k, v in cleaned.items() if v}
