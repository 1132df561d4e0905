"""Discord files: attachments fetched from the CDN while their signed link holds, copies' files uploaded as
multipart attachments of the webhook post (threads too), kept by edits, gone with deletes; the guild's limit."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.settings import Settings
from bot.errors import ConfigError, DeliveryError
from bot.events import Attachment, Author, IncomingMessage, OutgoingFile, OutgoingMessage
from bot.richtext import plain
from tests.discord.conftest import Sink, World

ANA = Author("U0ANA", "Ana (Boston)")
PDF = b"%PDF-1.7 plan de vivienda " + bytes(range(256)) * 64
MB = 1024 * 1024


def stored(tmp_path: Path, name: str = "plan-vivienda-2026.pdf", data: bytes = PDF) -> OutgoingFile:
    key = hashlib.sha256(data).hexdigest()
    path = tmp_path / key
    path.write_bytes(data)
    return OutgoingFile(key, name, len(data), "application/pdf", str(path))


def file_copy(world: World, tmp_path: Path, text: str = "Our shelter policy", nonce: str = "f-1", **kw: Any) -> Any:
    return OutgoingMessage(world.ref(world.lima), plain(text), nonce, author=ANA, files=(stored(tmp_path),), **kw)


def posts(world: World, channel: int, op: str = "post") -> list[dict[str, Any]]:
    return [r for r in world.fake.records.get(str(channel), []) if r["op"] == op]


async def test_an_attachment_arrives_with_its_cdn_link_size_type_and_id(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    _, sink = running
    msg = await world.fake.user_message(world.boston, world.ana, "plan", files=(("plan.pdf", PDF),))
    (event,) = await sink.wait(1, IncomingMessage)
    (attachment,) = msg["attachments"]
    assert event.attachments == (
        Attachment("plan.pdf", attachment["url"], len(PDF), "application/pdf", attachment["id"]),
    )


async def test_fetch_reads_the_cdn_without_sending_the_bot_token(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, _ = running
    hosted = world.fake.host_attachment(world.boston, "plan.pdf", PDF)
    assert await adapter.fetch(Attachment("plan.pdf", hosted["url"]), world.ref(world.boston)) == PDF
    assert [f["authorization"] for f in world.fake.cdn_fetches] == [None]


async def test_an_expired_link_is_refused_for_good(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    hosted = world.fake.host_attachment(world.boston, "plan.pdf", PDF, expires_in=-1)
    with pytest.raises(DeliveryError) as caught:
        await adapter.fetch(Attachment("plan.pdf", hosted["url"]), world.ref(world.boston))
    assert "HTTP 404" in caught.value.reason and not caught.value.retriable


async def test_a_copy_uploads_its_file_with_the_post_and_in_threads(
    world: World, running: tuple[DiscordAdapter, Sink], tmp_path: Path
) -> None:
    adapter, _ = running
    root = await adapter.send(file_copy(world, tmp_path, starts_thread=True, thread_title="Policy"))
    reply = await adapter.send(file_copy(world, tmp_path, "And the map", "f-2", thread_id=root.id))
    first, second = posts(world, world.lima)
    assert (
        first["uploads"]
        == second["uploads"]
        == [{"filename": "plan-vivienda-2026.pdf", "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()}]
    )
    assert first["content"] == "Our shelter policy" and first["username"] == "Ana (Boston)"
    assert second["thread_id"] == root.id and reply.thread_id == root.id
    # The uploaded attachment is served by the CDN like any other (the same bytes).
    (attachment,) = world.fake.messages[int(reply.id)]["attachments"]
    assert await adapter.fetch(Attachment("x", attachment["url"]), world.ref(world.lima)) == PDF


async def test_edits_keep_the_attachment_and_deletes_remove_the_post(
    world: World, running: tuple[DiscordAdapter, Sink], tmp_path: Path
) -> None:
    adapter, _ = running
    ref = await adapter.send(file_copy(world, tmp_path))
    await adapter.edit(ref, file_copy(world, tmp_path, "Our final shelter policy"))
    (edit,) = posts(world, world.lima, "edit")
    assert edit["content"] == "Our final shelter policy" and edit["attachments"] == 1
    assert len(world.fake.messages[int(ref.id)]["attachments"]) == 1
    assert len(posts(world, world.lima)) == 1  # nothing uploaded again
    await adapter.delete(ref)
    assert int(ref.id) not in world.fake.messages


async def test_find_sent_finds_an_upload_without_posting_again(
    world: World, running: tuple[DiscordAdapter, Sink], tmp_path: Path
) -> None:
    adapter, _ = running
    msg = file_copy(world, tmp_path)
    ref = await adapter.send(msg)
    assert await adapter.find_sent(msg) == ref
    assert len(posts(world, world.lima)) == 1


async def test_the_upload_limit_is_the_guilds_capped_by_max_file_mb(world: World, connect: Any) -> None:
    world.fake.guilds[world.guild]["premium_tier"] = 2  # boosted: 50 MB
    adapter, _ = await connect()
    assert adapter.upload_limit(world.ref(world.lima)) == 50 * MB
    capped, _ = await connect(max_file_mb=8)
    assert capped.upload_limit(world.ref(world.lima)) == 8 * MB


async def test_an_unboosted_guild_takes_10_mb(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    adapter, _ = running
    assert adapter.upload_limit(world.ref(world.lima)) == 10 * MB


def test_max_file_mb_is_checked() -> None:
    assert Settings.from_table({"max_file_mb": 25}).max_file_mb == 25
    for bad in (0, "25", True):
        with pytest.raises(ConfigError, match=r"adapters\.discord\.max_file_mb"):
            Settings.from_table({"max_file_mb": bad})
