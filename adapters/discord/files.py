"""Files on Discord: attachments fetched from the CDN at once, copies' files uploaded with the webhook post.

A Discord attachment URL is signed and expires (``ex=`` in its query, about a
day), so the core fetches right after the message is committed; the CDN needs
no token and none is sent. Uploads ride on the webhook post as multipart
attachments (``discord.File`` streams them from the stored file); Discord shows
images inline by itself. How large a file may be is the guild's limit (it grows
with the server's boost level, ``Guild.filesize_limit``), capped by
``[adapters.discord] max_file_mb``. Edits leave attachments alone (no
``attachments`` field is sent, so Discord keeps them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import discord

from adapters.discord.transport import delivery_error
from bot.errors import DeliveryError
from bot.events import Attachment, ChannelRef, OutgoingMessage

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

MB = 1024 * 1024
MAX_FETCH = 500 * MB  # Discord's largest upload (Nitro); a longer answer is not the attachment
CHUNK = 1024 * 1024


def attachment_of(a: discord.Attachment) -> Attachment:
    """A Discord attachment as the core's Attachment (CDN URL, size, type and id as Discord states them)."""
    return Attachment(a.filename, a.url, a.size, a.content_type, str(a.id))


class DiscordFiles:
    """Fetches attachments and prepares uploads for one Discord adapter."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter

    def upload_limit(self, channel: ChannelRef) -> int:
        """The guild's upload limit (10 MB unboosted, more with boosts), capped by ``max_file_mb``."""
        cap = self.adapter.settings.max_file_mb * MB
        client = self.adapter.client
        guild = client.get_guild(int(channel.space)) if client is not None and channel.space.isdigit() else None
        limit = guild.filesize_limit if guild is not None else discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES
        return min(cap, limit)

    async def fetch(self, attachment: Attachment, channel: ChannelRef) -> bytes:
        """The attachment's bytes from the CDN (no token: the signed URL is the permission)."""
        what = f"discord attachment {attachment.name}"
        session = self.adapter._session  # the adapter's HTTP session: 429/5xx surface at once
        if session is None:
            raise DeliveryError(f"{what}: the Discord adapter is not connected", retriable=True)
        if not attachment.url.startswith(("https://", "http://")):
            raise DeliveryError(f"{what}: no download link", retriable=False)
        wait = self.adapter.settings.request_timeout
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=wait, sock_read=wait)
        try:
            async with session.get(attachment.url, timeout=timeout) as resp:
                if resp.status != 200:  # 404/403: expired or deleted
                    raise DeliveryError(f"{what}: HTTP {resp.status}", retriable=False)
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.content.iter_chunked(CHUNK):
                    total += len(chunk)
                    if total > MAX_FETCH:
                        raise DeliveryError(f"{what}: larger than any Discord upload", retriable=False)
                    chunks.append(chunk)
                return b"".join(chunks)
        except DeliveryError:
            raise
        except Exception as exc:
            raise delivery_error(exc, f"fetch {what}") from exc

    def attach(self, msg: OutgoingMessage) -> list[discord.File]:
        """The copy's files for a webhook post, opened from the store (discord.py closes them)."""
        return [discord.File(f.path, filename=f.name) for f in msg.files]
