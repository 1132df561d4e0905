"""discord.py objects into the core's records: who wrote, where, and what.

A channel reference is always the text channel (``discord:<guild>/<channel>``);
a message in a thread carries the thread's id as ``thread_id``, and Discord
gives a thread started from a message that message's id, so the thread id is
the root message id the core knows.
"""

from __future__ import annotations

import discord

from adapters.discord.files import attachment_of
from adapters.discord.markup import parse, with_labels
from bot.events import Attachment, Author, ChannelRef
from bot.richtext import RichText

PLATFORM = "discord"
RELAYED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def channel_ref(guild_id: int | str, channel_id: int | str) -> ChannelRef:
    return ChannelRef(PLATFORM, str(guild_id), str(channel_id))


def author_of(user: discord.abc.User) -> Author:
    """Name as the server shows it (nickname, then display name), avatar as a URL."""
    return Author(str(user.id), user.display_name, str(user.display_avatar.url), bool(user.bot))


def text_of(message: discord.Message) -> RichText:
    """The message markup as rich text, mentions labelled with the names Discord resolved."""
    labels: dict[tuple[str, str], str] = {("user", str(u.id)): u.display_name for u in message.mentions}
    labels.update({("group", str(r.id)): r.name for r in message.role_mentions})
    labels.update({("channel", str(c.id)): c.name for c in message.channel_mentions})
    rt = parse(message.content)
    return with_labels(rt, labels) if labels else rt


def attachments_of(message: discord.Message) -> tuple[Attachment, ...]:
    """Attachments to fetch from the CDN before their signed links expire (files.py)."""
    return tuple(attachment_of(a) for a in message.attachments)


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
