"""Slack files: fetched with the workspace's bot token, uploaded into channels and threads with the copy's text,
reconciled after a crash, edited and deleted with their message (real slack_sdk against the fake Slack)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from adapters.slack.files import trusted
from adapters.slack.settings import SlackSettings
from bot.errors import ConfigError, DeliveryError
from bot.events import Attachment, Author, ChannelRef, IncomingMessage, OutgoingFile, OutgoingMessage
from bot.richtext import plain
from testing.slack_server import TEAM, FakeSlack
from tests.slack.conftest import BOSTON, LIMA, AdapterFactory

BOSTON_REF = ChannelRef("slack", TEAM, BOSTON)
LIMA_REF = ChannelRef("slack", TEAM, LIMA)
ANA = Author("U0ANA", "Ana (Boston)")
PDF = b"%PDF-1.7 plan de vivienda " + bytes(range(256)) * 64


def stored(tmp_path: Path, name: str = "plan-vivienda-2026.pdf", data: bytes = PDF) -> OutgoingFile:
    path = tmp_path / hashlib.sha256(data).hexdigest()
    path.write_bytes(data)
    return OutgoingFile(hashlib.sha256(data).hexdigest(), name, len(data), "application/pdf", str(path))


def file_copy(
    tmp_path: Path, text: str = "Nuestra política de albergues", nonce: str = "f-1", **kw: object
) -> OutgoingMessage:
    return OutgoingMessage(
        LIMA_REF,
        plain(text),
        nonce=nonce,
        author=ANA,
        files=(stored(tmp_path),),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A server that is not Slack, recording who asks it for what."""
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(body=b"not the file")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}", seen
    await runner.cleanup()


# ------------------------------------------------------------------ inbound and fetch


async def test_a_shared_file_arrives_with_its_download_link_size_type_and_id(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    _, sink = await make_adapter()
    hosted = fake.host_file("plan-vivienda-2026.pdf", PDF)
    await fake.user_posts(BOSTON, "U0ANA", "Our housing plan", files=[hosted])
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    assert event.attachments == (
        Attachment("plan-vivienda-2026.pdf", hosted["url_private_download"], len(PDF), "application/pdf", hosted["id"]),
    )


async def test_fetch_sends_the_bot_token_and_returns_the_bytes(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    hosted = fake.host_file("plan.pdf", PDF)
    attachment = Attachment("plan.pdf", hosted["url_private_download"], len(PDF), "application/pdf", hosted["id"])
    assert await adapter.fetch(attachment, BOSTON_REF) == PDF
    assert [f["token"] for f in fake.file_fetches] == ["xoxb-fake-bot-token"]


async def test_without_files_read_slack_shows_its_sign_in_page_which_is_not_taken_for_the_file(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    fake.workspaces[TEAM].scopes = fake.workspaces[TEAM].scopes.replace(",files:read", "")
    adapter, _ = await make_adapter()
    hosted = fake.host_file("plan.pdf", PDF)
    with pytest.raises(DeliveryError) as caught:
        await adapter.fetch(Attachment("plan.pdf", hosted["url_private_download"], mime="application/pdf"), BOSTON_REF)
    assert "sign-in page" in caught.value.reason and not caught.value.retriable


async def test_the_token_never_goes_to_a_host_that_is_not_slack(
    fake: FakeSlack, make_adapter: AdapterFactory, elsewhere: tuple[str, list[web.Request]]
) -> None:
    url, seen = elsewhere
    adapter, _ = await make_adapter()
    with pytest.raises(DeliveryError, match="not on a Slack host"):
        await adapter.fetch(Attachment("x.pdf", f"{url}/files-pri/x.pdf"), BOSTON_REF)
    # nor after a redirect from Slack's own file host
    fake.file_redirect = f"{url}/steal"
    hosted = fake.host_file("plan.pdf", PDF)
    with pytest.raises(DeliveryError, match="not on a Slack host"):
        await adapter.fetch(Attachment("plan.pdf", hosted["url_private_download"]), BOSTON_REF)
    assert seen == []
    assert len(fake.file_fetches) == 1


def test_trusted_hosts() -> None:
    api = "https://slack.com/api/"
    assert trusted("https://files.slack.com/files-pri/T1-F1/a.pdf", api)
    assert trusted("https://files.slack-gov.com/files-pri/T1-F1/a.pdf", api)
    assert not trusted("http://files.slack.com/files-pri/T1-F1/a.pdf", api)  # never in clear text
    assert not trusted("https://files.slack.com.evil.example/a.pdf", api)
    assert not trusted("https://evilslack.com/a.pdf", api)
    assert trusted("http://127.0.0.1:9/files-pri/a.pdf", "http://127.0.0.1:9/api/")
    assert not trusted("http://127.0.0.1:10/files-pri/a.pdf", "http://127.0.0.1:9/api/")


async def test_a_slack_outage_while_fetching_is_retriable(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    hosted = fake.host_file("plan.pdf", PDF)
    fake.fail("file", "server_error")
    with pytest.raises(DeliveryError) as caught:
        await adapter.fetch(Attachment("plan.pdf", hosted["url_private_download"]), BOSTON_REF)
    assert caught.value.retriable


async def test_a_file_slack_gives_no_link_for_is_refused(make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    with pytest.raises(DeliveryError, match="no download link"):
        await adapter.fetch(Attachment("hidden.pdf", ""), BOSTON_REF)


# ------------------------------------------------------------------ upload


async def test_upload_lands_in_the_channel_with_the_text_and_the_author_first(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    adapter, _ = await make_adapter()
    ref = await adapter.send(file_copy(tmp_path, footer=plain("traducido del inglés"), starts_thread=True))
    (upload,) = fake.records_for(LIMA, "upload")
    assert upload["sha256"] == hashlib.sha256(PDF).hexdigest() and upload["name"] == "plan-vivienda-2026.pdf"
    assert upload["text"] == "*Ana (Boston)*\nNuestra política de albergues\n_traducido del inglés_"
    assert upload["thread_ts"] is None
    assert ref.id == upload["ts"] and ref.thread_id == upload["ts"]  # the copy is its own thread root
    assert fake.files[upload["file_id"]]["data"] == PDF
    assert fake.calls_to("chat.postMessage") == []


async def test_a_reply_with_a_file_goes_into_the_thread(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    adapter, _ = await make_adapter()
    root = await adapter.send(OutgoingMessage(LIMA_REF, plain("question"), nonce="q", starts_thread=True))
    reply = await adapter.send(file_copy(tmp_path, nonce="r", thread_id=root.id))
    (upload,) = fake.records_for(LIMA, "upload")
    assert upload["thread_ts"] == root.id and reply.id == upload["ts"] and reply.thread_id == root.id


async def test_the_message_is_found_when_slack_shares_the_file_late(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    fake.share_delay = 0.3
    adapter, _ = await make_adapter()
    ref = await adapter.send(file_copy(tmp_path))
    (upload,) = fake.records_for(LIMA, "upload")
    assert ref.id == upload["ts"]
    assert len(fake.calls_to("files.info")) >= 2  # polled until the share appeared


async def test_find_sent_after_a_lost_answer_finds_the_upload_and_nothing_is_uploaded_twice(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    fake.share_delay = 0.5  # Slack shares the file after the adapter gave up waiting
    adapter, _ = await make_adapter()
    adapter.files.share_wait = 0.05
    msg = file_copy(tmp_path)
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(msg)
    assert caught.value.retriable and caught.value.uncertain
    (upload,) = await fake.wait_for(lambda: fake.records_for(LIMA, "upload"))
    # What the outbox does next (after a restart too: the mapping is in the database).
    again, _ = await make_adapter()
    found = await again.find_sent(msg)
    assert found is not None and found.id == upload["ts"]
    assert len(fake.calls_to("files.getUploadURLExternal")) == 1
    # A copy whose upload was never completed is not "found": it is sent.
    assert await again.find_sent(file_copy(tmp_path, nonce="other")) is None


async def test_upload_limit_is_max_file_mb(make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter(max_file_mb=5)
    assert adapter.upload_limit(LIMA_REF) == 5 * 1024 * 1024
    default, _ = await make_adapter(start=False)
    assert default.upload_limit(LIMA_REF) == 100 * 1024 * 1024


async def test_a_failed_upload_posts_nothing(fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path) -> None:
    adapter, _ = await make_adapter()
    fake.fail("upload", "server_error")
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(file_copy(tmp_path))
    assert caught.value.retriable
    assert fake.records_for(LIMA) == [] and fake.calls_to("files.completeUploadExternal") == []


# ------------------------------------------------------------------ edit and delete


async def test_edit_changes_the_text_and_keeps_the_file_delete_removes_both(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    adapter, _ = await make_adapter()
    ref = await adapter.send(file_copy(tmp_path))
    (upload,) = fake.records_for(LIMA, "upload")
    await adapter.edit(ref, file_copy(tmp_path, "Versión final"))
    (message,) = [m for m in fake.channels[LIMA].messages if m["ts"] == ref.id]
    assert message["text"] == "*Ana (Boston)*\nVersión final"
    assert [f["id"] for f in message["files"]] == [upload["file_id"]]
    assert fake.calls_to("files.getUploadURLExternal") and len(fake.calls_to("files.getUploadURLExternal")) == 1

    await adapter.delete(ref)
    assert [m for m in fake.channels[LIMA].messages if m["ts"] == ref.id] == []
    assert upload["file_id"] not in fake.files
    assert [r["file_id"] for r in fake.records if r["op"] == "file_delete"] == [upload["file_id"]]


async def test_own_uploads_coming_back_are_not_relayed(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    adapter, sink = await make_adapter()
    await adapter.send(file_copy(tmp_path))
    await fake.settle()
    assert fake.echo_results and sink.events == []


async def test_without_files_info_the_message_is_found_in_the_history(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    adapter, _ = await make_adapter()
    fake.fail("files.info", "error", error="missing_scope")
    root = await adapter.send(OutgoingMessage(LIMA_REF, plain("question"), nonce="q", starts_thread=True))
    top = await adapter.send(file_copy(tmp_path, nonce="a"))
    reply = await adapter.send(file_copy(tmp_path, nonce="b", thread_id=root.id))
    first, second = fake.records_for(LIMA, "upload")
    assert (top.id, reply.id, reply.thread_id) == (first["ts"], second["ts"], root.id)
    assert len(fake.calls_to("files.info")) == 1  # refused once: the history answers from then on


async def test_a_private_channel_upload_is_found_among_private_shares(
    fake: FakeSlack, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    fake.channels[LIMA].is_private = True
    adapter, _ = await make_adapter()
    ref = await adapter.send(file_copy(tmp_path))
    (upload,) = fake.records_for(LIMA, "upload")
    assert ref.id == upload["ts"]
    assert list(fake.files[upload["file_id"]]["shares"]) == ["private"]


def test_max_file_mb_is_checked() -> None:
    assert SlackSettings.from_mapping({"max_file_mb": 1024}).max_file_mb == 1024
    for bad in (0, 1025, "100", 2.5):
        with pytest.raises(ConfigError, match=r"adapters\.slack\.max_file_mb"):
            SlackSettings.from_mapping({"max_file_mb": bad})
