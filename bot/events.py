"""Typed events that cross the boundary between adapters and the core.

Adapters turn platform payloads into these frozen records and hand them to the
core's sink; the core answers with :class:`OutgoingMessage` values. Platform ids
stay opaque strings so the core never learns a platform's id scheme.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.languages import LANGUAGES as LANGUAGES  # re-exported: many modules read the codes here
from bot.richtext import RichText, clean, clean_text, strip_invisible


@dataclass(frozen=True, slots=True, order=True)
class ChannelRef:
    """A channel on some platform, written ``platform:space/channel``."""

    platform: str
    space: str
    channel: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.space}/{self.channel}"

    @classmethod
    def parse(cls, text: str) -> ChannelRef:
        """Parse ``platform:space/channel``; raise ValueError naming the problem."""
        platform, sep, rest = text.partition(":")
        space, sep2, channel = rest.partition("/")
        if not (sep and sep2 and platform and space and channel) or "/" in channel:
            raise ValueError(f"channel reference {text!r} is not of the form platform:space/channel")
        return cls(platform, space, channel)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message the bot posted or saw; ``thread_id`` is its thread root, if any."""

    channel: ChannelRef
    id: str
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message, as the platform shows them."""

    id: str
    name: str
    avatar_url: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file shared with a message.

    The core fetches it once through the source adapter (``FileTransfer.fetch``,
    with the platform's credentials, before a signed link expires), stores it, and
    uploads it with every copy. ``size`` and ``mime`` are what the platform says,
    when it says; ``id`` is the platform's own file id.
    """

    name: str
    url: str
    size: int | None = None
    mime: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message posted in a channel the bot can see.

    ``thread_id`` is the platform id of the thread root when the message is a
    reply in a thread. ``event_id`` lets the core drop redelivered events
    (Slack retries, gateway resumes); adapters set it when the platform has one.
    """

    channel: ChannelRef
    id: str
    author: Author
    text: RichText
    thread_id: str | None = None
    event_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class MessageEdited:
    """The author changed a message's text."""

    channel: ChannelRef
    id: str
    text: RichText
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageDeleted:
    """The author deleted a message."""

    channel: ChannelRef
    id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The core's answer to a command, in the caller's language.

    ``image`` carries a PNG (the hot-topics chart) for platforms that can post
    one; ``text`` always stands on its own for those that cannot. ``data`` is the
    same answer as JSON-ready fields for APIs (the web adapter merges it into its
    response), so scripts need not parse the text.
    """

    text: RichText
    ephemeral: bool = True
    image: bytes | None = None
    image_name: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


Replier = Callable[[Reply], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CommandInvoked:
    """A slash command, already acknowledged by the adapter.

    ``name`` is the top-level command (``ask`` or ``agora``) and ``args`` the
    raw argument text; the core parses it against the command table so every
    platform shares one parser. ``can_manage`` reports whether the platform
    says the caller may manage the channel (needed to link or unlink it).
    """

    channel: ChannelRef
    author: Author
    name: str
    args: str
    reply: Replier
    locale: str | None = None
    can_manage: bool = False
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class TranslateRequest:
    """ "Translate for me": one reader wants one message in their own language.

    The answer goes only to that reader (ephemeral), so a member can follow a
    channel that is not in their language without changing it for everyone.
    """

    channel: ChannelRef
    author: Author
    text: RichText
    reply: Replier
    locale: str | None = None


Event = IncomingMessage | MessageEdited | MessageDeleted | CommandInvoked | TranslateRequest


@dataclass(frozen=True, slots=True)
class CopyMeta:
    """What a copy is, for adapters that show it structurally (the web page)."""

    message_id: int
    city: str
    lang: str
    original_text: RichText
    original_lang: str
    topics: tuple[str, ...] = ()
    topic_labels: tuple[str, ...] = ()
    translated: bool = True
    own: bool = False  # the asker's own copy of an /ask question, in the asker's channel


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One post the core asks an adapter to make.

    ``nonce`` is unique per post and stable across retries so adapters can make
    sends idempotent (Discord ``enforce_nonce``, Slack message metadata).
    ``starts_thread`` marks a question copy that should become a thread root.
    """

    channel: ChannelRef
    text: RichText
    nonce: str
    author: Author | None = None
    thread_id: str | None = None
    starts_thread: bool = False
    thread_title: str = ""
    footer: RichText = ()
    meta: CopyMeta | None = None
    image: bytes | None = None
    image_name: str | None = None
    files: tuple[OutgoingFile, ...] = ()


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A stored file to upload with a post. ``path`` is a local file the adapter streams
    from, so a 20 MB file is never held in memory once per channel."""

    key: str  # sha256 of the content: the same file is stored once
    name: str
    size: int
    mime: str
    path: str


def sanitised(event: Event) -> Event:
    """The event with every string made safe to store and relay (see :func:`bot.richtext.clean_text`).

    Applied once where events enter the core, so no later step meets a lone
    surrogate or a control character from a platform or an API caller.
    """
    match event:
        case IncomingMessage():
            return replace(
                event,
                text=clean(event.text),
                author=_clean_author(event.author),
                attachments=tuple(replace(a, name=_file_name(a.name)) for a in event.attachments),
            )
        case MessageEdited():
            return replace(event, text=clean(event.text))
        case CommandInvoked():
            return replace(event, args=clean_text(event.args), author=_clean_author(event.author))
        case TranslateRequest():
            return replace(event, text=clean(event.text), author=_clean_author(event.author))
    return event


def _file_name(name: str) -> str:
    """A file name safe to show and to send as an upload's name: no path, no control characters."""
    base = clean_text(name).replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    return base[:200] or "file"


def _clean_author(author: Author) -> Author:
    """Names lose control, bidi and zero-width characters; a name of nothing else becomes the id."""
    author_id = clean_text(author.id)
    name = strip_invisible(clean_text(author.name)).strip()
    return replace(author, id=author_id, name=name if name or not author.name else author_id)
