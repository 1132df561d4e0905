"""Slack message payloads to what the core needs, as pure functions.

A message event (live, or a history item during catch-up) becomes a
:class:`NewMessage`, :class:`Edit` or :class:`Removal` — or None when Agora
must not relay it: its own posts and edits (matched by bot id, bot user id and
the ``agora_copy`` metadata it stamps on every copy), other bots unless the
channel network relays bots, joins/leaves/topic changes and other system
subtypes, and "edits" that only add link previews or reply counts. Authors and
mentions are resolved later (users.info, conversations.info), so these records
carry only what the payload says.

The text comes from the message's ``rich_text`` blocks when it has them (they
say exactly which words are styled), from the mrkdwn ``text`` otherwise; a
``me_message`` (``/me waves``) is shown in italics, as Slack shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack import blocks, markup
from adapters.slack.files import attachment_of
from bot.events import Attachment
from bot.richtext import RichText, Styled

COPY_EVENT_TYPE = "agora_copy"
# Subtypes that are people writing; everything else (joins, topic changes, …) is not relayed.
MESSAGE_SUBTYPES = frozenset({None, "", "thread_broadcast", "file_share", "me_message", "bot_message"})


@dataclass(frozen=True, slots=True)
class Identity:
    """The bot as Slack knows it in one workspace, to recognise its own posts."""

    bot_id: str = ""
    bot_user_id: str = ""


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message or thread reply as posted, before its author is looked up."""

    channel: str
    ts: str
    thread_ts: str | None
    user_id: str
    fallback_name: str
    fallback_avatar: str | None
    is_bot: bool
    text: RichText
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Edit:
    """A message's text changed."""

    channel: str
    ts: str
    text: RichText


@dataclass(frozen=True, slots=True)
class Removal:
    """A message was deleted (or left as a tombstone under its thread)."""

    channel: str
    ts: str


Converted = NewMessage | Edit | Removal


def is_agora_copy(message: Mapping[str, Any]) -> bool:
    """True for posts Agora made, by the metadata it stamps on them."""
    meta = message.get("metadata")
    return isinstance(meta, Mapping) and meta.get("event_type") == COPY_EVENT_TYPE


def copy_nonce(message: Mapping[str, Any]) -> str | None:
    """The nonce of an Agora copy, read back for crash reconciliation."""
    if not is_agora_copy(message):
        return None
    payload = message["metadata"].get("event_payload")
    nonce = payload.get("nonce") if isinstance(payload, Mapping) else None
    return str(nonce) if nonce is not None else None


def is_own(message: Mapping[str, Any], own: Identity) -> bool:
    """Posted by this bot (its bot id or bot user), or stamped as an Agora copy."""
    if is_agora_copy(message):
        return True
    bot_id = message.get("bot_id")
    user = message.get("user")
    return bool((own.bot_id and bot_id == own.bot_id) or (own.bot_user_id and user == own.bot_user_id))


def is_bot_post(message: Mapping[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def attachments_of(message: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """Shared files, to be fetched with the bot token (see files.py); a file Slack gives no
    download link for (``hidden_by_limit``) still comes along, to be announced as not fetched."""
    return tuple(
        attachment_of(f) for f in message.get("files") or () if isinstance(f, Mapping) and f.get("mode") != "tombstone"
    )


def text_of(message: Mapping[str, Any]) -> RichText:
    """A message's words: its rich_text blocks when present, its mrkdwn text otherwise."""
    rt = blocks.parse(message.get("blocks"))
    if not rt:  # no rich_text block, or one with nothing Agora can show
        rt = markup.parse(str(message.get("text") or ""))
    if message.get("subtype") == "me_message" and rt:
        rt = (Styled("italic", rt, "_"),)
    return rt


def thread_of(message: Mapping[str, Any]) -> str | None:
    """The thread root's ts for a reply; None for top-level posts and thread roots."""
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != message.get("ts"):
        return str(thread_ts)
    return None


def _new_message(channel: str, message: Mapping[str, Any]) -> NewMessage:
    profile: Mapping[str, Any] = message.get("user_profile") or {}
    bot_profile: Mapping[str, Any] = message.get("bot_profile") or {}
    icons: Mapping[str, Any] = message.get("icons") or bot_profile.get("icons") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or message.get("username")
        or bot_profile.get("name")
        or message.get("user")
        or message.get("bot_id")
        or "?"
    )
    avatar = profile.get("image_72") or icons.get("image_72") or icons.get("image_48") or None
    return NewMessage(
        channel=channel,
        ts=str(message["ts"]),
        thread_ts=thread_of(message),
        user_id=str(message.get("user") or message.get("bot_id") or ""),
        fallback_name=str(name),
        fallback_avatar=str(avatar) if avatar else None,
        is_bot=is_bot_post(message),
        text=text_of(message),
        attachments=attachments_of(message),
    )


def convert_message(
    message: Mapping[str, Any], channel: str, *, own: Identity, relay_bots: bool = False
) -> Converted | None:
    """One ``message`` event (or history item, with ``channel`` supplied) to a record, or None to drop it."""
    subtype = message.get("subtype")
    if subtype == "message_changed":
        return _convert_changed(message, channel, own=own, relay_bots=relay_bots)
    if subtype == "message_deleted":
        previous: Mapping[str, Any] = message.get("previous_message") or {}
        deleted = message.get("deleted_ts") or previous.get("ts")
        if not deleted or is_own(previous, own) or (is_bot_post(previous) and not relay_bots):
            return None
        return Removal(channel, str(deleted))
    if subtype not in MESSAGE_SUBTYPES or "ts" not in message or is_own(message, own):
        return None
    if is_bot_post(message) and not relay_bots:
        return None
    if message.get("hidden"):
        return None
    return _new_message(channel, message)


def _convert_changed(event: Mapping[str, Any], channel: str, *, own: Identity, relay_bots: bool) -> Converted | None:
    message: Mapping[str, Any] = event.get("message") or {}
    previous: Mapping[str, Any] = event.get("previous_message") or {}
    ts = message.get("ts") or previous.get("ts")  # some payloads leave ts out of the new message
    if not ts or is_own(message, own) or (is_bot_post(message) and not relay_bots):
        return None
    if message.get("subtype") == "tombstone":
        return Removal(channel, str(ts))
    text = text_of(message)
    if previous and text == text_of(previous):
        return None  # unfurls, reply counts, pins: the words did not change
    return Edit(channel, str(ts), text)
