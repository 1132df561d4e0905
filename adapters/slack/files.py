"""Files between Slack and the other cities: fetched with the bot token, uploaded with the copy's text.

Fetch: a Slack file's ``url_private_download`` opens only with a bot token of the
workspace that holds it (and the ``files:read`` scope); without one Slack answers
with its sign-in page, status 200 and HTML. So the token is sent, redirects are
followed by hand and only to Slack's own hosts or the configured ``api_url`` host
(the token never goes anywhere else), and an HTML answer for a file that is not
HTML counts as a refusal, not as the file.

Upload: ``files.getUploadURLExternal`` (name, length), the bytes POSTed to the
upload URL streamed from the stored file (no token needed there), then
``files.completeUploadExternal`` into the channel and thread with the copy's text
as ``initial_comment``. Slack shares the file asynchronously and does not say
which message it made, so the message ts is read from ``files.info`` shares
(polled for a few seconds), then from the channel or thread history. Uploaded
messages cannot carry Agora's metadata (and so its nonce), and they are posted
as the bot, not under the author's name: the name goes first in the text, and
the nonce → file id mapping is recorded in ``slack_uploads`` before the upload is
completed, so ``find_sent`` can reconcile a crash or a lost answer exactly once.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import markup, schema
from adapters.slack.delivery import call
from bot.errors import DeliveryError
from bot.events import Attachment, ChannelRef, MessageRef, OutgoingFile, OutgoingMessage
from bot.richtext import Styled, Text
from bot.store.sql import Database, update, upsert

if TYPE_CHECKING:
    from adapters.slack.adapter import SlackAdapter

log = logging.getLogger(__name__)
MB = 1024 * 1024
# Where Slack serves and redirects file downloads (and GovSlack); https only.
SLACK_FILE_DOMAINS = ("slack.com", "slack-edge.com", "slack-files.com", "slack-gov.com", "slack-gov-edge.com")
MAX_REDIRECTS = 5
MAX_FETCH = 1024 * MB  # Slack's own upload limit: a longer answer is not the file
SHARE_WAIT = 10.0  # seconds to wait for Slack to share a completed upload into the channel
HISTORY_LOOKBACK = 100


@dataclass(frozen=True, slots=True)
class Upload:
    """A copy uploaded as files (or about to be): what ``find_sent`` and ``delete`` look up."""

    nonce: str
    team: str
    channel: str
    thread_ts: str | None
    file_ids: tuple[str, ...]
    ts: str | None


class Uploads:
    """The ``slack_uploads`` table: nonce → uploaded file ids → the message Slack made."""

    def __init__(self, db: Database) -> None:
        self.db = db
        schema.apply(db)

    def record(self, nonce: str, team: str, channel: str, thread_ts: str | None, file_ids: list[str]) -> None:
        row = {
            "nonce": nonce,
            "team": team,
            "channel": channel,
            "thread_ts": thread_ts or "",
            "file_ids": json.dumps(file_ids),
            "ts": None,
            "at": time.time(),
        }
        upsert(self.db, "slack_uploads", row, key=["nonce"])

    def found(self, nonce: str, ts: str) -> None:
        update(self.db, "slack_uploads", {"nonce": nonce}, {"ts": ts})

    def by_nonce(self, nonce: str) -> Upload | None:
        row = self.db.execute(f"select {_UPLOAD} from slack_uploads where nonce = ?", [nonce]).fetchone()
        return _upload(row) if row else None

    def by_ts(self, team: str, channel: str, ts: str) -> Upload | None:
        row = self.db.execute(
            f"select {_UPLOAD} from slack_uploads where team = ? and channel = ? and ts = ?", [team, channel, ts]
        ).fetchone()
        return _upload(row) if row else None


def _delete_file(file_id: str, client: AsyncWebClient, token: str) -> Awaitable[Any]:
    return client.files_delete(token=token, file=file_id)


_UPLOAD = "nonce, team, channel, thread_ts, file_ids, ts"


def _upload(row: Any) -> Upload:
    nonce, team, channel, thread_ts, file_ids, ts = row
    return Upload(nonce, team, channel, thread_ts or None, tuple(json.loads(file_ids)), ts or None)


def download_url(f: Mapping[str, Any]) -> str:
    """Where a Slack file's bytes are: ``url_private_download``, else ``url_private``."""
    return str(f.get("url_private_download") or f.get("url_private") or "")


def attachment_of(f: Mapping[str, Any]) -> Attachment:
    """A Slack file object as the core's Attachment (size, type and id as Slack states them)."""
    size = f.get("size")
    return Attachment(
        name=str(f.get("name") or f.get("title") or "file"),
        url=download_url(f),
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        mime=str(f["mimetype"]) if f.get("mimetype") else None,
        id=str(f["id"]) if f.get("id") else None,
    )


def trusted(url: str, api_url: str) -> bool:
    """May the bot token go to ``url``? Slack's own hosts over https, or the configured API host."""
    parts, api = urlsplit(url), urlsplit(api_url)
    if parts.scheme == api.scheme and parts.netloc == api.netloc:
        return True
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(host == d or host.endswith("." + d) for d in SLACK_FILE_DOMAINS)


def share_ts(info: Mapping[str, Any], channel: str, thread_ts: str | None) -> str | None:
    """The ts of the message that shares the file in ``channel`` (in ``thread_ts``), from files.info."""
    shares = info.get("shares") or {}
    for kind in ("public", "private"):
        for share in (shares.get(kind) or {}).get(channel) or ():
            if not isinstance(share, Mapping) or not share.get("ts"):
                continue
            in_thread = share.get("thread_ts") if share.get("thread_ts") != share.get("ts") else None
            if (in_thread or None) == (thread_ts or None):
                return str(share["ts"])
    return None


def attributed(author: str, text: str) -> str:
    """An uploaded copy is posted as the bot, so its author's name leads the text."""
    name = markup.render((Styled("bold", (Text(author),), "*"),)) if author else ""
    return f"{name}\n{text}" if name and text else name or text


class SlackFiles:
    """Fetches, uploads and reconciles files for one Slack adapter."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter
        self.uploads = Uploads(adapter.context.db)
        self.share_wait = SHARE_WAIT
        self._no_files_info: set[str] = set()  # workspaces whose token may not call files.info

    def _session(self) -> aiohttp.ClientSession:
        session = self.adapter._session  # the adapter's one HTTP session
        if session is None:
            raise DeliveryError("slack: adapter not started", retriable=True)
        return session

    def _timeout(self) -> aiohttp.ClientTimeout:
        """No total limit for a large file, but no stall longer than the adapter's timeout either."""
        wait = self.adapter.settings.timeout
        return aiohttp.ClientTimeout(total=None, sock_connect=wait, sock_read=wait)

    def upload_limit(self, channel: ChannelRef) -> int:
        return self.adapter.settings.max_file_mb * MB

    # ------------------------------------------------------------------ fetch

    async def fetch(self, attachment: Attachment, channel: ChannelRef) -> bytes:
        """The file's bytes, with the bot token of the workspace the message came from."""
        what = f"slack file {attachment.name}"
        if not attachment.url:
            raise DeliveryError(f"{what}: Slack gives no download link for it", retriable=False)
        token = await self.adapter.token(channel.space)
        url = attachment.url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                if not trusted(url, self.adapter.settings.base_url):
                    host = urlsplit(url).hostname or "?"
                    raise DeliveryError(f"{what}: not on a Slack host ({host}); not sent the token", retriable=False)
                async with self._session().get(
                    url,
                    headers={"Authorization": f"Bearer {token}"},
                    allow_redirects=False,
                    timeout=self._timeout(),
                ) as resp:
                    if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                        url = urljoin(url, resp.headers["Location"])
                        continue
                    return await self._body(resp, attachment, what)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"{what}: {type(exc).__name__}", retriable=True) from exc
        raise DeliveryError(f"{what}: too many redirects", retriable=False)

    async def _body(self, resp: aiohttp.ClientResponse, attachment: Attachment, what: str) -> bytes:
        if resp.status == 429 or resp.status >= 500:
            raise DeliveryError(f"{what}: HTTP {resp.status}", retriable=True)
        if resp.status != 200:
            raise DeliveryError(f"{what}: HTTP {resp.status} (is files:read granted?)", retriable=False)
        if resp.content_type == "text/html" and not (attachment.mime or "").startswith("text/html"):
            raise DeliveryError(f"{what}: Slack answered with its sign-in page (files:read?)", retriable=False)
        return await read_at_most(resp, MAX_FETCH, what)

    # ----------------------------------------------------------------- upload

    async def send(self, msg: OutgoingMessage, text: str) -> MessageRef:
        """Upload ``msg.files`` into the channel (and thread) with ``text``; the ref of Slack's message."""
        team, channel = msg.channel.space, msg.channel.channel
        author = msg.author.name[:80] if msg.author else ""
        comment = attributed(author, text)
        ids = [await self._upload_bytes(team, f) for f in msg.files]
        self.uploads.record(msg.nonce, team, channel, msg.thread_id, ids)
        titles: list[dict[str, str | None]] = [{"id": i, "title": f.name} for i, f in zip(ids, msg.files, strict=True)]
        await self.adapter.api(
            "files.completeUploadExternal",
            team,
            lambda c, t: c.files_completeUploadExternal(
                token=t, files=titles, channel_id=channel, thread_ts=msg.thread_id, initial_comment=comment
            ),
        )
        try:  # the file may be in the channel now: from here on a failure is "look before sending again"
            ts = await self._wait_for_share(team, channel, msg.thread_id, ids[0])
        except DeliveryError as exc:
            raise DeliveryError(exc.reason, retriable=True, uncertain=True, retry_after=exc.retry_after) from exc
        if ts is None:
            raise DeliveryError(
                f"slack files.completeUploadExternal: the file message did not appear in {channel} within "
                f"{self.share_wait:g}s",
                retriable=True,
                uncertain=True,
            )
        return self._found(msg, ts)

    async def _upload_bytes(self, team: str, f: OutgoingFile) -> str:
        """files.getUploadURLExternal, then the bytes streamed from the stored file; the new file id."""
        resp = await self.adapter.api(
            "files.getUploadURLExternal",
            team,
            lambda c, t: c.files_getUploadURLExternal(token=t, filename=f.name, length=f.size),
        )
        upload_url, file_id = str(resp.get("upload_url") or ""), str(resp.get("file_id") or "")
        if not upload_url or not file_id:
            raise DeliveryError("slack files.getUploadURLExternal: no upload URL in the answer", retriable=True)

        try:
            fh = Path(f.path).open("rb")  # noqa: SIM115 - closed below; aiohttp streams it in chunks
        except OSError as exc:
            raise DeliveryError(f"slack file upload of {f.name}: the stored file is gone", retriable=False) from exc
        with fh:
            status = await call("file upload", lambda: self._post(upload_url, fh))
        if status != 200:
            raise DeliveryError(f"slack file upload of {f.name}: HTTP {status}", retriable=status >= 500)
        return file_id

    async def _post(self, url: str, fh: Any) -> int:
        async with self._session().post(url, data=fh, timeout=self._timeout()) as answer:
            return answer.status

    async def _wait_for_share(self, team: str, channel: str, thread_ts: str | None, file_id: str) -> str | None:
        """Slack shares a completed upload a moment later: poll until it shows, then look in history once more."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.share_wait
        pause = 0.1
        while True:
            ts = await self._share_now(team, channel, thread_ts, file_id)
            if ts is not None or loop.time() >= deadline:
                break
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * 2, 1.0)
        if ts is None and team not in self._no_files_info:
            ts = await self._share_in_history(team, channel, thread_ts, file_id)
        return ts

    async def _share_now(self, team: str, channel: str, thread_ts: str | None, file_id: str) -> str | None:
        """The share's ts from files.info, or from the history where files.info is refused (no files:read)."""
        if team not in self._no_files_info:
            try:
                resp = await self.adapter.api("files.info", team, lambda c, t: c.files_info(token=t, file=file_id))
            except DeliveryError as exc:
                if exc.retriable:
                    raise
                log.warning("slack: files.info refused in %s (%s); reading the history instead", team, exc.reason)
                self._no_files_info.add(team)
            else:
                info = resp.get("file")
                return share_ts(info, channel, thread_ts) if isinstance(info, Mapping) else None
        return await self._share_in_history(team, channel, thread_ts, file_id)

    async def _share_in_history(self, team: str, channel: str, thread_ts: str | None, file_id: str) -> str | None:
        if thread_ts:
            messages = await self.adapter.paged(
                "conversations.replies",
                team,
                lambda c, t, cursor: c.conversations_replies(
                    token=t, channel=channel, ts=thread_ts, limit=200, cursor=cursor
                ),
                5,
            )
        else:
            resp = await self.adapter.api(
                "conversations.history",
                team,
                lambda c, t: c.conversations_history(token=t, channel=channel, limit=HISTORY_LOOKBACK),
            )
            messages = [m for m in resp.get("messages") or () if isinstance(m, dict)]
        for m in messages:
            if any(isinstance(f, Mapping) and f.get("id") == file_id for f in m.get("files") or ()):
                return str(m["ts"])
        return None

    def _found(self, msg: OutgoingMessage, ts: str) -> MessageRef:
        self.uploads.found(msg.nonce, ts)
        thread = msg.thread_id or (ts if msg.starts_thread else None)
        if thread:
            self.adapter.tables.touch_thread(msg.channel.space, msg.channel.channel, thread, ts)
        return MessageRef(msg.channel, ts, thread)

    async def find_sent(self, msg: OutgoingMessage) -> MessageRef | None:
        """The message an earlier upload of this copy made, if its upload was completed."""
        upload = self.uploads.by_nonce(msg.nonce)
        if upload is None or not upload.file_ids:
            return None  # never got as far as completing: nothing is visible in the channel
        if upload.ts:
            return self._found(msg, upload.ts)
        team, channel = msg.channel.space, msg.channel.channel
        ts = await self._share_now(team, channel, msg.thread_id, upload.file_ids[0])
        if ts is None and team not in self._no_files_info:
            ts = await self._share_in_history(team, channel, msg.thread_id, upload.file_ids[0])
        return self._found(msg, ts) if ts else None

    # ---------------------------------------------------------- edit, delete

    def edited_text(self, ref: MessageRef, msg: OutgoingMessage, text: str) -> str:
        """An uploaded copy keeps its author's name in front when its text is edited."""
        if self.uploads.by_ts(ref.channel.space, ref.channel.channel, ref.id) is None:
            return text
        return attributed(msg.author.name[:80] if msg.author else "", text)

    async def delete_files(self, ref: MessageRef) -> None:
        """After its message is deleted, delete the files Agora uploaded with it (best effort)."""
        upload = self.uploads.by_ts(ref.channel.space, ref.channel.channel, ref.id)
        if upload is None:
            return
        for file_id in upload.file_ids:
            try:
                await self.adapter.api("files.delete", ref.channel.space, functools.partial(_delete_file, file_id))
            except DeliveryError as exc:
                log.warning("slack: uploaded file %s in %s not deleted: %s", file_id, ref.channel, exc.reason)


async def read_at_most(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """The whole body, refusing one longer than ``limit`` before it is all in memory."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.content.iter_chunked(1024 * 1024):
        total += len(chunk)
        if total > limit:
            raise DeliveryError(f"{what}: larger than {limit // MB} MB", retriable=False)
        chunks.append(chunk)
    return b"".join(chunks)
