"""Files travel as files: fetched once from the source, stored once, uploaded with each copy."""

from __future__ import annotations

import hashlib

import pytest

from bot.errors import DeliveryError
from bot.events import Attachment, Author, IncomingMessage, MessageDeleted, MessageEdited
from bot.richtext import plain
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

PDF = b"%PDF-1.7 shelter policy " + bytes(range(256)) * 40
URL = "https://files.example/plan-vivienda-2026.pdf"


async def share(h: Harness, text: str, *files: Attachment, pid: str = "p1") -> None:
    await h.command(BOSTON, "/agora mode mirror")
    await h.adapter.emit(IncomingMessage(BOSTON, pid, Author("u1", "Ana"), plain(text), attachments=files))
    await h.drain()


def uploads(h: Harness, channel: object) -> list[tuple[str, bytes]]:
    return [u for p in h.adapter.posts[channel] if not p.deleted for u in p.uploads]  # type: ignore[index]


async def test_a_file_reaches_every_city_with_the_same_bytes_and_its_name_untranslated(harness: Harness) -> None:
    harness.adapter.hosted[URL] = PDF
    await share(
        harness, "Our new shelter policy", Attachment("plan-vivienda-2026.pdf", URL, len(PDF), "application/pdf")
    )
    for channel in (GDL, RECIFE):
        assert uploads(harness, channel) == [("plan-vivienda-2026.pdf", PDF)]
    assert harness.adapter.texts(GDL) == ["[es] Our new shelter policy"]
    # Fetched once, stored once, under its content hash.
    assert harness.adapter.fetches == [URL]
    assert list(harness.agora.blobs.keys()) == [hashlib.sha256(PDF).hexdigest()]


async def test_a_file_alone_is_relayed_without_text(harness: Harness) -> None:
    harness.adapter.hosted[URL] = PDF
    await share(harness, "", Attachment("map.pdf", URL))
    assert uploads(harness, GDL) == [("map.pdf", PDF)]
    assert harness.adapter.texts(GDL) == ["📎"]


async def test_an_over_limit_file_is_announced_not_uploaded(harness: Harness) -> None:
    harness.adapter.hosted[URL] = PDF
    harness.adapter.max_upload = 1000
    await share(harness, "The flood map", Attachment("flood-map.pdf", URL))
    assert uploads(harness, GDL) == []
    assert harness.adapter.texts(GDL) == [
        "[es] The flood map\n📎 flood-map.pdf (10 KB) es demasiado grande para compartirlo aquí "
        "(límite 1000 bytes); lo tiene Boston."
    ]
    assert harness.adapter.texts(RECIFE) == [
        "[pt] The flood map\n📎 flood-map.pdf (10 KB) é grande demais para compartilhar aqui "
        "(limite 1000 bytes); Boston tem o arquivo."
    ]


async def test_a_file_that_cannot_be_fetched_is_announced_and_the_text_still_goes(harness: Harness) -> None:
    await share(harness, "See attached", Attachment("rfp.docx", "https://files.example/gone", 2_500_000))
    assert harness.adapter.texts(RECIFE) == [
        "[pt] See attached\n📎 rfp.docx (2.4 MB) não pôde ser trazido de Boston (HTTP 404 for rfp.docx)."
    ]


async def test_a_file_over_the_fetch_limit_is_not_even_fetched(make_harness: object) -> None:
    h = await make_harness(max_file_mb=1)  # type: ignore[operator]
    await share(h, "Huge", Attachment("lidar.zip", URL, 5 * 1024 * 1024))
    assert h.adapter.fetches == []
    assert "lidar.zip (5.0 MB)" in h.adapter.texts(GDL)[0]
    await h.agora.stop(grace=1)


async def test_edits_keep_the_files_and_deletes_remove_the_posts(harness: Harness) -> None:
    harness.adapter.hosted[URL] = PDF
    await share(harness, "Draft policy", Attachment("policy.pdf", URL))
    await harness.adapter.emit(MessageEdited(BOSTON, "p1", plain("Final policy")))
    await harness.drain()
    [post] = harness.adapter.posts[GDL]
    assert post.text == "[es] Final policy" and post.uploads == [("policy.pdf", PDF)]
    await harness.adapter.emit(MessageDeleted(BOSTON, "p1"))
    await harness.drain()
    assert harness.adapter.texts(GDL) == [] and harness.adapter.texts(RECIFE) == []


async def test_a_retried_post_still_carries_its_file(harness: Harness) -> None:
    harness.adapter.hosted[URL] = PDF
    harness.adapter.fail_next(GDL, DeliveryError("HTTP 503", retriable=True))
    await share(harness, "Retry me", Attachment("a.pdf", URL))
    assert uploads(harness, GDL) == [("a.pdf", PDF)]
    assert uploads(harness, RECIFE) == [("a.pdf", PDF)]
