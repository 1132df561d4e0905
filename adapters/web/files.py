"""Files on the web playground: accepted in a post (JSON, base64), shown with copies, served by Agora itself.

The playground is its own platform, so it serves the files Agora stored for it:
only files some visible message in this database carries, always with
``nosniff`` and a sandboxing CSP, as a download except for the raster image
types a browser shows inline (never SVG or HTML, which could run script).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.events import Attachment, OutgoingFile
from bot.ports import BlobStore
from bot.store.sql import Database

BLOB_SCHEME = "agora-blob:"
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_FILES = 10


class FileRefused(ValueError):
    """A file in a post that cannot be accepted; the message says why."""


def accept_files(raw: Any, blobs: BlobStore | None, limit: int) -> tuple[Attachment, ...]:
    """``[{"name", "data" (base64), "type"?}]`` from a post, stored at once; ValueError says what is wrong."""
    if raw is None:
        return ()
    if blobs is None:
        raise FileRefused("this playground does not accept files")
    if not isinstance(raw, list) or len(raw) > MAX_FILES:
        raise FileRefused(f"'files' must be a list of at most {MAX_FILES} files")
    decoded: list[tuple[str, bytes, str]] = []
    total = 0
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("data"), str):
            raise FileRefused("each file needs a 'name' and its content as base64 'data'")
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise FileRefused(f"the content of {item['name'][:60]!r} is not valid base64") from None
        total += len(data)
        if total > limit:
            raise FileRefused(f"the files are larger than this playground's limit ({limit} bytes in one post)")
        mime = item.get("type")
        mime = mime[:100] if isinstance(mime, str) and mime else "application/octet-stream"
        decoded.append((item["name"], data, mime))
    return tuple(Attachment(name, BLOB_SCHEME + blobs.put(data), len(data), mime, None) for name, data, mime in decoded)


def read_blob(blobs: BlobStore | None, attachment: Attachment) -> bytes | None:
    """The bytes of a file posted on the playground (already in the store), or None."""
    if blobs is None or not attachment.url.startswith(BLOB_SCHEME):
        return None
    path = blobs.path(attachment.url.removeprefix(BLOB_SCHEME))
    return path.read_bytes() if path is not None else None


def files_column(files: Sequence[OutgoingFile]) -> str:
    return json.dumps([{"key": f.key, "name": f.name, "size": f.size, "mime": f.mime} for f in files])


def posted_column(attachments: Sequence[Attachment]) -> str:
    """The files column of a post made on the playground (its files are already in the store)."""
    return json.dumps(
        [{"key": a.url.removeprefix(BLOB_SCHEME), "name": a.name, "size": a.size, "mime": a.mime} for a in attachments]
    )


def public_files(stored: str | None) -> list[dict[str, Any]]:
    """The files of a message as the API shows them, each with the URL Agora serves it at."""
    out = []
    for f in json.loads(stored or "[]"):
        out.append(
            {
                "name": f["name"],
                "size": f["size"],
                "type": f["mime"],
                "url": f"/files/{f['key']}/{quote(f['name'], safe='')}",
                "image": f["mime"] in INLINE_TYPES,
            }
        )
    return out


def serve(db: Database, blobs: BlobStore | None, key: str) -> web.StreamResponse:
    """Only a file a visible message carries; 404 for anything else."""
    if blobs is None or len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
        raise web.HTTPNotFound(text='{"error": "no such file"}', content_type="application/json")
    meta = None
    for row in db.query("select files from web_messages where deleted = 0 and files like ? limit 20", [f"%{key}%"]):
        meta = next((f for f in json.loads(row["files"] or "[]") if f["key"] == key), None)
        if meta is not None:
            break
    path = blobs.path(key)
    if meta is None or path is None:
        raise web.HTTPNotFound(text='{"error": "no such file"}', content_type="application/json")
    inline = meta["mime"] in INLINE_TYPES
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Type": meta["mime"] if inline else "application/octet-stream",
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(meta['name'], safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }
    return web.FileResponse(path, headers=headers)
