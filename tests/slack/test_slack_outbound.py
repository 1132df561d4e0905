"""Posting copies: send/edit/delete/find_sent and how Slack failures reach the outbox."""

from __future__ import annotations

import hashlib

import pytest

from adapters.slack import blocks
from bot.errors import DeliveryError
from bot.events import Author, ChannelRef, MessageRef, OutgoingMessage
from bot.richtext import Link, Mention, Styled, Text, plain
from testing.slack_server import TEAM, FakeSlack
from tests.slack.conftest import BOSTON, LIMA, AdapterFactory

LIMA_REF = ChannelRef("slack", TEAM, LIMA)
ANA = Author("U0ANA", "Ana (Boston)", "https://avatars.example.org/ana.png")


def copy(text: str = "¿Qué refugios aceptan familias?", nonce: str = "n-1", **kw: object) -> OutgoingMessage:
    return OutgoingMessage(LIMA_REF, plain(text), nonce=nonce, author=ANA, **kw)  # type: ignore[arg-type]


async def test_send_posts_as_the_author_with_the_nonce(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    ref = await adapter.send(copy(footer=plain("traducido del inglés"), starts_thread=True))
    (call,) = fake.calls_to("chat.postMessage")
    params = call["params"]
    assert params["username"] == "Ana (Boston)"
    assert params["icon_url"] == "https://avatars.example.org/ana.png"
    assert params["metadata"] == {"event_type": "agora_copy", "event_payload": {"nonce": "n-1"}}
    assert params["text"] == "¿Qué refugios aceptan familias?\n_traducido del inglés_"
    assert params["unfurl_links"] is False
    assert "thread_ts" not in params
    (record,) = fake.records_for(LIMA)
    assert ref == MessageRef(LIMA_REF, record["ts"], record["ts"])  # the copy is its own thread root
    assert record["nonce"] == "n-1"


async def test_reply_goes_into_the_thread(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    root = await adapter.send(copy(starts_thread=True))
    reply = await adapter.send(copy("Sí, en Boston.", nonce="n-2", thread_id=root.id))
    assert reply.thread_id == root.id
    assert [r.get("thread_ts") for r in fake.records_for(LIMA, "post")] == [None, root.id]


async def test_nobody_is_pinged_and_markup_is_escaped(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    text = (
        Mention("broadcast", "channel"),
        Text(" see "),
        Mention("group", "S1", "housing"),
        Text(" and "),
        Mention("user", "U9", "bob"),
        Text(": 5 < 6 & <!here>"),
        Link("https://x.org", "doc"),
    )
    await adapter.send(OutgoingMessage(LIMA_REF, text, nonce="n-3"))
    sent = fake.records_for(LIMA)[0]["text"]
    assert sent == "@channel see @housing and @bob: 5 &lt; 6 &amp; &lt;!here&gt;<https://x.org|doc>"


async def test_edit_and_delete_a_copy(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    ref = await adapter.send(copy())
    await adapter.edit(ref, copy("¿Qué refugios aceptan familias con mascotas?"))
    await adapter.delete(ref)
    await adapter.delete(ref)  # already gone: still fine
    ops = [(r["op"], r["ts"]) for r in fake.records_for(LIMA)]
    assert ops == [("post", ref.id), ("update", ref.id), ("delete", ref.id)]
    assert fake.calls_to("chat.update")[0]["params"]["text"] == "¿Qué refugios aceptan familias con mascotas?"


async def test_429_is_retriable_with_retry_after_and_does_not_wait(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    adapter, _ = await make_adapter()
    fake.fail("chat.postMessage", "ratelimited", retry_after=7)
    with pytest.raises(DeliveryError) as info:
        await adapter.send(copy())
    assert info.value.retriable and info.value.retry_after == 7.0
    assert len(fake.calls_to("chat.postMessage")) == 1  # no retry inside the adapter
    assert fake.records_for(LIMA) == []
    await adapter.send(copy())  # the outbox's later attempt goes through
    assert len(fake.records_for(LIMA)) == 1


async def test_per_channel_pacing_429(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    fake.throttle(LIMA, 60)
    await adapter.send(copy(nonce="a"))
    with pytest.raises(DeliveryError) as info:
        await adapter.send(copy(nonce="b"))
    assert info.value.retriable and info.value.retry_after == 60.0
    # other channels are unaffected
    await adapter.send(OutgoingMessage(ChannelRef("slack", TEAM, BOSTON), plain("x"), nonce="c"))


@pytest.mark.parametrize(
    ("kind", "error", "retriable"),
    [
        ("server_error", "", True),
        ("error", "internal_error", True),
        ("error", "channel_not_found", False),
        ("error", "not_in_channel", False),
        ("error", "missing_scope", False),
        ("drop", "", True),
    ],
)
async def test_failures_are_classified(
    fake: FakeSlack, make_adapter: AdapterFactory, kind: str, error: str, retriable: bool
) -> None:
    adapter, _ = await make_adapter()
    fake.fail("chat.postMessage", kind, error=error)
    with pytest.raises(DeliveryError) as info:
        await adapter.send(copy())
    assert info.value.retriable is retriable
    if error:
        assert error in info.value.reason


async def test_timeout_is_retriable(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter(timeout=0.3)
    fake.fail("chat.postMessage", "hang")
    with pytest.raises(DeliveryError) as info:
        await adapter.send(copy())
    assert info.value.retriable


async def test_unknown_channel_is_permanent(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    with pytest.raises(DeliveryError) as info:
        await adapter.send(OutgoingMessage(ChannelRef("slack", TEAM, "C0NOPE"), plain("x"), nonce="n"))
    assert not info.value.retriable and "channel_not_found" in info.value.reason


async def test_find_sent_by_nonce(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    root = await adapter.send(copy(nonce="q-1", starts_thread=True))
    for i in range(3):
        await fake.user_posts(LIMA, "U0LUIS", f"chatter {i}")
    reply = await adapter.send(copy("respuesta", nonce="r-1", thread_id=root.id))
    assert await adapter.find_sent(copy(nonce="q-1", starts_thread=True)) == root
    assert await adapter.find_sent(copy("respuesta", nonce="r-1", thread_id=root.id)) == reply
    assert await adapter.find_sent(copy(nonce="never-sent")) is None
    assert await adapter.find_sent(copy(nonce="never-sent", thread_id=root.id)) is None


async def test_send_uploads_the_chart(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    ref = await adapter.send(copy("Weekly digest", image=png, image_name="topics.png"))
    upload = fake.records_for(LIMA, "upload")
    assert [(u["name"], u["size"], u["sha256"]) for u in upload] == [
        ("topics.png", len(png), hashlib.sha256(png).hexdigest())
    ]
    assert fake.calls_to("files.getUploadURLExternal") and fake.calls_to("files.completeUploadExternal")
    assert ref.id == fake.records_for(LIMA, "post")[0]["ts"]


async def test_failed_chart_upload_does_not_fail_the_post(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    fake.fail("upload", "server_error")
    await adapter.send(copy("Weekly digest", image=b"png", image_name="topics.png"))
    assert len(fake.records_for(LIMA, "post")) == 1
    assert fake.records_for(LIMA, "upload") == []


async def test_render_is_slack_mrkdwn(make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter(start=False)
    assert adapter.render((Text("a < b"), Link("https://x.org", "x"))) == "a &lt; b<https://x.org|x>"
    assert (adapter.platform, adapter.max_text, adapter.pace) == ("slack", 40_000, 1.0)


async def test_timed_out_post_that_went_through_is_found_by_nonce(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    adapter, _ = await make_adapter(timeout=0.2)
    fake.hang_seconds = 0.4
    fake.fail("chat.postMessage", "hang")
    with pytest.raises(DeliveryError) as info:
        await adapter.send(copy(nonce="slow-1"))
    assert info.value.retriable
    (record,) = await fake.wait_for(lambda: fake.records_for(LIMA, "post"))  # Slack posted it anyway
    found = await adapter.find_sent(copy(nonce="slow-1"))
    assert found == MessageRef(LIMA_REF, record["ts"], None)


async def test_copies_carry_rich_text_blocks_with_the_same_styles(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    adapter, _ = await make_adapter()
    text = (Text("in"), Styled("bold", (Text("cred"),), "*"), Text("ible, see "), Link("https://x.org/a?b=1&c=2"))
    ref = await adapter.send(OutgoingMessage(ChannelRef("slack", TEAM, LIMA), text, nonce="b1"))
    (post,) = fake.records_for(LIMA, "post")
    assert blocks.parse(post["blocks"]) == text  # mrkdwn cannot bold inside a word; blocks can
    assert post["text"] == "in*cred*ible, see <https://x.org/a?b=1&amp;c=2>"
    await adapter.edit(ref, OutgoingMessage(ref.channel, (Text("plain now"),), nonce="b1"))
    (update,) = fake.records_for(LIMA, "update")
    assert blocks.parse(update["blocks"]) == (Text("plain now"),)


async def test_long_copies_and_refused_blocks_fall_back_to_text(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, _ = await make_adapter()
    lima = ChannelRef("slack", TEAM, LIMA)
    long_text = (Styled("bold", (Text("word " * 3000),), "*"),)
    await adapter.send(OutgoingMessage(lima, long_text, nonce="long"))
    fake.fail("chat.postMessage", "error", error="invalid_blocks")
    ref = await adapter.send(OutgoingMessage(lima, (Styled("italic", (Text("hi"),), "_"),), nonce="refused"))
    fake.fail("chat.update", "error", error="msg_blocks_too_long")
    await adapter.edit(ref, OutgoingMessage(lima, (Styled("italic", (Text("hi!"),), "_"),), nonce="refused"))
    long_post, refused = fake.records_for(LIMA, "post")
    assert long_post["blocks"] is None and long_post["text"].startswith("*word word")
    assert refused["blocks"] is None and refused["text"] == "_hi_"
    (update,) = fake.records_for(LIMA, "update")
    assert update["text"] == "_hi!_" and update.get("blocks") is None
