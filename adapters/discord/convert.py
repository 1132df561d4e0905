"""discord.py objects into the core's records: who wrote, where, and what.

A channel reference is always the text channel (``discord:<guild>/<channel>``);
a message in a thread carries the thread's id as ``thread_id``, and Discord
gives a thread started from a message that message's id, so the thread id is
the root message id the core knows.

What a message says is more than its ``content``: a forward carries its text
and files in a snapshot, a poll its question and answers, a sticker its name,
and a post may be only an embed (title, URL, description). All of it travels.
Mentions read as names: the ones Discord resolved in the message, then the
guild's caches, then the labels Discord itself shows ("@unknown-user",
"#unknown", "@deleted-role") — never a bare id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import discord

from adapters.discord.files import attachment_of
from adapters.discord.markup import parse, with_labels
from bot.events import Attachment, Author, ChannelRef
from bot.richtext import LineBreak, Link, Mention, Quote, RichText, Segment, Styled, Text, map_segments, normalise

PLATFORM = "discord"
RELAYED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
UNRESOLVED = {"user": "unknown-user", "channel": "unknown", "group": "deleted-role"}
Lookup = Callable[[str, int], str | None]
Where = tuple[ChannelRef, str | None]
"""Where a message or command was: its linked text channel, and the thread inside it (or None)."""


def channel_ref(guild_id: int | str, channel_id: int | str) -> ChannelRef:
    return ChannelRef(PLATFORM, str(guild_id), str(channel_id))


def author_of(user: discord.abc.User) -> Author:
    """Name as the server shows it (nickname, then display name), avatar as a URL."""
    name = user.display_name or getattr(user, "name", "") or UNRESOLVED["user"]
    return Author(str(user.id), name, str(user.display_avatar.url), bool(user.bot))


def is_bot_post(message: discord.Message) -> bool:
    """Bots and webhooks (a webhook's author need not say ``bot: true``)."""
    return bool(message.author.bot) or message.webhook_id is not None


def text_of(message: discord.Message, lookup: Lookup | None = None) -> RichText:
    """Everything the message says, as rich text with mentions labelled (see the module docstring)."""
    labels: dict[tuple[str, str], str] = {("user", str(u.id)): u.display_name for u in message.mentions}
    labels.update({("group", str(r.id)): r.name for r in message.role_mentions})
    labels.update({("channel", str(c.id)): c.name for c in message.channel_mentions})
    parts: list[RichText] = []
    if message.content:
        parts.append(parse(message.content))
    for snap in forwarded(message):
        body: list[Segment] = [Text("↪")]
        for line in _lines(parse(snap.content)) if snap.content else []:
            body += [LineBreak(), Quote(line)]
        if snap.stickers:
            body += [LineBreak(), *_stickers(snap.stickers)]
        parts.append(tuple(body))
    if message.poll is not None:
        parts.append(_poll(message.poll))
    if message.stickers:
        parts.append(_stickers(message.stickers))
    if not message.content and not forwarded(message) and not is_bot_post(message):
        parts += [e for e in (_embed(embed) for embed in message.embeds) if e]
    rt = _join(parts)
    return label_mentions(with_labels(rt, labels), lookup or (lambda kind, ident: None))


def forwarded(message: discord.Message) -> list[discord.MessageSnapshot]:
    """The snapshots of a forwarded message (empty for anything else)."""
    ref = message.reference
    if ref is None or ref.type is not discord.MessageReferenceType.forward:
        return []
    return list(message.message_snapshots)


def attachments_of(message: discord.Message) -> tuple[Attachment, ...]:
    """Files of the message and of what it forwards, to fetch from the CDN before their signed links
    expire (files.py); one without a URL is announced as not fetchable."""
    files = list(message.attachments)
    for snap in forwarded(message):
        files += snap.attachments
    return tuple(attachment_of(a) for a in files)


def label_mentions(rt: Sequence[Segment], lookup: Lookup) -> RichText:
    """Give every mention still without a name one: from ``lookup`` (the caches), else Discord's label."""

    def one(seg: Segment) -> Segment:
        if isinstance(seg, Mention) and not seg.label and seg.kind in UNRESOLVED:
            found = lookup(seg.kind, int(seg.id)) if seg.id.isdigit() else None
            return Mention(seg.kind, seg.id, found or UNRESOLVED[seg.kind])
        return seg

    return map_segments(rt, one)


def cache_lookup(
    client: discord.Client | None,
    guild: discord.Guild | None,
    seen: Mapping[int, str] | None = None,
    channels: Mapping[int, str] | None = None,
) -> Lookup:
    """Names from the guild's and the client's caches, then from people and channels seen lately
    (no network call)."""

    def lookup(kind: str, ident: int) -> str | None:
        found: object = None
        if kind == "user":
            found = (guild.get_member(ident) if guild else None) or (client.get_user(ident) if client else None)
            return getattr(found, "display_name", None) or (seen or {}).get(ident)
        if kind == "channel":
            found = (guild.get_channel_or_thread(ident) if guild else None) or (
                client.get_channel(ident) if client else None
            )
            if found is None:
                return (channels or {}).get(ident)
        elif kind == "group":
            found = guild.get_role(ident) if guild else None
        return getattr(found, "name", None)

    return lookup


def _stickers(stickers: Sequence[discord.StickerItem]) -> RichText:
    return (Text(" ".join(f"🏷 {s.name}" for s in stickers)),)


def _lines(rt: RichText) -> list[RichText]:
    """``rt`` cut at its line breaks (a quote is one line)."""
    lines: list[list[Segment]] = [[]]
    for seg in rt:
        if isinstance(seg, LineBreak):
            lines.append([])
        else:
            lines[-1].append(seg)
    return [tuple(line) for line in lines if line]


def _poll(poll: discord.Poll) -> RichText:
    out: list[Segment] = [Text("📊 "), Styled("bold", (Text(str(poll.question)),))]
    for answer in poll.answers:
        out += [LineBreak(), Text(f"• {answer.text}")]
    return tuple(out)


def _embed(embed: discord.Embed) -> RichText:
    out: list[Segment] = []
    if embed.title and embed.url:
        out.append(Link(embed.url, embed.title))
    elif embed.title:
        out.append(Styled("bold", (Text(embed.title),)))
    elif embed.url:
        out.append(Link(embed.url))
    if embed.description:
        if out:
            out.append(LineBreak())
        out.extend(parse(embed.description))
    return tuple(out)


def _join(parts: Sequence[RichText]) -> RichText:
    out: list[Segment] = []
    for part in parts:
        if not part:
            continue
        if out:
            out.append(LineBreak())
        out.extend(part)
    return normalise(out)


def thread_parent(channel: object) -> int | None:
    """The text channel a thread belongs to; None when ``channel`` is not a thread."""
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return None


def reply_root(message: discord.Message) -> str | None:
    """The message a reply (message reference) answers, in the same channel."""
    ref = message.reference
    if message.type is not discord.MessageType.reply or ref is None or ref.message_id is None:
        return None
    if ref.channel_id != message.channel.id:
        return None
    return str(ref.message_id)
