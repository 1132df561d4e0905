"""Protocols the core needs from the outside world, and how it finds them.

Adapters (platforms) and translators (MT engines) are packages that register
themselves under the entry-point groups ``agora.adapters`` and
``agora.translators``; the core loads them by name and never imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.commands import CommandSpec
from bot.errors import ConfigError
from bot.events import Attachment, ChannelRef, Event, MessageRef, OutgoingMessage
from bot.extras import missing_extra
from bot.i18n import Catalog
from bot.model import Channel

if TYPE_CHECKING:
    from bot.operations import Operations
from bot.richtext import RichText
from bot.store.sql import Database
from bot.supervision import Connections

EventSink = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Check:
    """One line of ``agora doctor``: what was checked, whether it is fine, how to fix it."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


class Adapter(Protocol):
    """A platform connection: events in through the sink, posts out through send/edit/delete.

    ``send``/``edit``/``delete`` raise :class:`bot.errors.DeliveryError` and
    nothing else. ``find_sent`` looks for a post made with the message's nonce,
    so the outbox can tell whether a send interrupted by a crash went through.
    """

    platform: str
    max_text: int
    pace: float

    async def start(self, sink: EventSink) -> None: ...

    async def stop(self) -> None: ...

    def render(self, text: RichText) -> str: ...

    async def send(self, msg: OutgoingMessage) -> MessageRef: ...

    async def edit(self, ref: MessageRef, msg: OutgoingMessage) -> None: ...

    async def delete(self, ref: MessageRef) -> None: ...

    async def find_sent(self, msg: OutgoingMessage) -> MessageRef | None: ...

    def checks(self) -> list[Check]: ...


class BlobStore(Protocol):
    """Where relayed files live, by the sha256 of their content (each stored once).

    Narrow on purpose: the local directory beside the database is the default, and
    replicas can put an S3-compatible object store behind the same four methods
    (``path`` then returns a local cached copy).
    """

    def put(self, data: bytes) -> str: ...

    def path(self, key: str) -> Path | None: ...

    def delete(self, key: str) -> None: ...

    def keys(self) -> Iterator[str]: ...


@runtime_checkable
class FileTransfer(Protocol):
    """What an adapter adds to move files between cities.

    ``fetch`` downloads a file the platform announced, with the platform's
    credentials (Slack's ``url_private`` needs the bot token; a Discord CDN link
    expires), raising :class:`bot.errors.DeliveryError`. ``upload_limit`` is the
    largest file the adapter will upload into ``channel`` (bytes; 0: it cannot),
    and ``send`` uploads ``OutgoingMessage.files`` with the post.
    """

    async def fetch(self, attachment: Attachment, channel: ChannelRef) -> bytes: ...

    def upload_limit(self, channel: ChannelRef) -> int: ...


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What the core lends an adapter: its own tables in the database, the linked
    channels, the command table and the UI catalog. Adapters name their tables
    after their platform (``web_messages``, ``slack_installations``)."""

    db: Database
    channels: Callable[[str], list[Channel]]
    commands: Sequence[CommandSpec]
    catalog: Catalog
    environ: Mapping[str, str]
    max_message_length: int = 12000
    relay_bots: bool = False
    files: BlobStore | None = None  # adapters that serve files themselves (web) read them here
    connections: Connections = field(default_factory=Connections)
    operations: Operations | None = None  # readiness and gauges for /ready and /metrics (web)


AdapterFactory = Callable[[Mapping[str, Any], AdapterContext], Adapter]


@dataclass(frozen=True, slots=True)
class Translation:
    """A translated text; ``translated`` is False when it passed through unchanged."""

    text: RichText
    translated: bool
    engine: str


@dataclass(frozen=True, slots=True)
class GlossaryTerm:
    """A term kept as is (``translations`` empty) or translated one fixed way per language."""

    term: str
    translations: tuple[tuple[str, str], ...] = ()


class TranslationCache(Protocol):
    """Where translations of text pieces are remembered across restarts."""

    def get_translation(self, key: str) -> str | None: ...

    def put_translation(self, key: str, engine: str, source: str, target: str, text: str, result: str) -> None: ...


class Translator(Protocol):
    """Detects a message's language and translates rich text among en/es/pt.

    ``translate`` raises :class:`bot.errors.TranslationError` when the engine
    fails; the core then sends the copy untranslated and marked.
    """

    name: str

    def detect(self, text: str, prior: str | None) -> str: ...

    async def translate(
        self, text: RichText, source: str, target: str, glossary: Sequence[GlossaryTerm] = ()
    ) -> Translation: ...

    def checks(self) -> list[Check]: ...

    async def close(self) -> None: ...


TranslatorFactory = Callable[[Mapping[str, Any], TranslationCache], Translator]


def load_plugin(group: str, name: str) -> Any:
    """Load the entry point ``name`` from ``group``; ConfigError lists the known ones."""
    found = {ep.name: ep for ep in entry_points(group=group)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise ConfigError(f"{group}: no plugin named {name!r} (known: {known})")
    try:
        return found[name].load()
    except ImportError as exc:
        extra = missing_extra(exc, f"{group}:{name}")
        if extra is None:
            raise
        raise extra from exc


def plugin_names(group: str) -> list[str]:
    """Names registered under an entry-point group."""
    return sorted(ep.name for ep in entry_points(group=group))


class Embedder(Protocol):
    """Maps texts in any of the network's languages into one vector space.

    Topics (a classifier over the vectors) and similar-question suggestions (cosine
    between vectors) share one model so it is loaded once. ``embed`` returns an
    ``(len(texts), dim)`` float32 array whose rows are L2-normalised, so a dot
    product is the cosine. It may block for the first call while the model loads;
    ``warm`` starts that load in the background so ``agora run`` serves at once.
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Any: ...

    def warm(self) -> None: ...


EmbedderFactory = Callable[[Mapping[str, Any]], Embedder]
