"""Socket Mode inbound: real slack-bolt + slack-sdk against the fake Slack's websocket."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.events import Attachment, Author, ChannelRef, IncomingMessage, MessageDeleted, MessageEdited, OutgoingMessage
from bot.richtext import Mention, Styled, Text, plain
from testing.slack_server import TEAM, FakeSlack, event_callback, load_payload, message_event
from tests.slack.conftest import BOSTON, LIMA, AdapterFactory

BOSTON_REF = ChannelRef("slack", TEAM, BOSTON)


async def test_message_becomes_incoming_message(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    ts = await fake.user_posts(BOSTON, "U0ANA", "Any *shelter* data, <@U0LUIS>?")
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    assert event == IncomingMessage(
        channel=BOSTON_REF,
        id=ts,
        author=Author("U0ANA", "Ana", "https://avatars.example.org/U0ANA_192.png"),
        text=(
            Text("Any "),
            Styled("bold", (Text("shelter"),), "*"),
            Text(" data, "),
            Mention("user", "U0LUIS", "Luis"),  # named through users.info
            Text("?"),
        ),
        thread_id=None,
        event_id=event.event_id,
        locale="en-US",
    )
    assert event.event_id and event.event_id.startswith("Ev")


async def test_thread_reply_has_thread_id(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    root = await fake.user_posts(BOSTON, "U0ANA", "question")
    reply = await fake.user_posts(BOSTON, "U0LUIS", "respuesta", thread_ts=root)
    events = await sink.wait(2)
    assert [(e.id, e.thread_id) for e in events if isinstance(e, IncomingMessage)] == [(root, None), (reply, root)]
    assert [e.locale for e in sink.of(IncomingMessage)] == ["en-US", "es-419"]


async def test_edit_and_delete(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    ts = await fake.user_posts(BOSTON, "U0ANA", "first words")
    await fake.user_edits(BOSTON, ts, "better words")
    await fake.user_deletes(BOSTON, ts)
    events = await sink.wait(3)
    assert isinstance(events[1], MessageEdited)
    assert (events[1].channel, events[1].id, events[1].text) == (BOSTON_REF, ts, plain("better words"))
    assert isinstance(events[2], MessageDeleted)
    assert (events[2].channel, events[2].id) == (BOSTON_REF, ts)


async def test_file_share_carries_the_file_to_fetch(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    files = load_payload("file_share")["files"]
    await fake.user_posts(BOSTON, "U0ANA", "the count", files=files)
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    url = files[0]["url_private_download"]
    assert event.attachments == (Attachment("pit-count-2024.pdf", url, 48213, "application/pdf", "F0PIT2024"),)


async def test_retried_event_is_delivered_once(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    event = message_event(BOSTON, "U0ANA", "once only", "1700000000.000100")
    body = event_callback(event, event_id="Ev0RETRY0001")
    await fake.deliver_event(body)
    await fake.deliver_event(body, retry_num=1)
    await fake.deliver_event(body, retry_num=2)
    # the same message under a new event id (Slack redelivery after a reconnect) is dropped too
    await fake.deliver_event(event_callback(event, event_id="Ev0RETRY0002"))
    await fake.user_posts(BOSTON, "U0ANA", "marker")
    await sink.wait(2)
    assert sink.texts() == [plain("once only"), plain("marker")]


async def test_own_copies_are_not_relayed_back(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, sink = await make_adapter()
    ref = await adapter.send(OutgoingMessage(ChannelRef("slack", TEAM, LIMA), plain("copy"), nonce="n1"))
    await adapter.edit(ref, OutgoingMessage(ref.channel, plain("copy, edited"), nonce="n1"))
    await adapter.delete(ref)
    await fake.settle()  # the three echoes were pushed and acknowledged
    assert [r["op"] for r in fake.records_for(LIMA)] == ["post", "update", "delete"]
    await fake.user_posts(LIMA, "U0LUIS", "marker")
    await sink.wait(1)
    assert sink.texts() == [plain("marker")]


async def test_other_bots_dropped_unless_configured(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    await fake.deliver_event(event_callback(load_payload("bot_message")))
    await fake.user_posts(BOSTON, "U0ANA", "marker")
    await sink.wait(1)
    assert sink.texts() == [plain("marker")]


async def test_other_bots_relayed_when_configured(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter(relay_bots=True)
    await fake.deliver_event(event_callback(load_payload("bot_message")))
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    assert event.author == Author("B0OPENDATA", "Open Data Bot", "https://bots.example.org/opendata_48.png", True)


async def test_order_is_kept_per_channel(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    for i in range(12):
        await fake.user_posts(BOSTON if i % 2 else LIMA, "U0ANA", f"m{i}")
    events = await sink.wait(12)
    for channel in (BOSTON, LIMA):
        got = [e.text for e in events if isinstance(e, IncomingMessage) and e.channel.channel == channel]
        want = [plain(f"m{i}") for i in range(12) if (channel == BOSTON) == bool(i % 2)]
        assert got == want


async def test_unknown_user_falls_back_to_the_event(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    await fake.user_posts(BOSTON, "U0GHOST", "who am I")
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    assert event.author.id == "U0GHOST" and event.locale is None


@pytest.mark.parametrize("how", ["refresh", "drop"])
async def test_reconnects(fake: FakeSlack, make_adapter: AdapterFactory, how: str) -> None:
    _, sink = await make_adapter()
    if how == "refresh":
        await fake.disconnect_socket()
    else:
        await fake.drop_socket()
    await fake.wait_for(lambda: fake.socket_connections >= 2)
    await fake.user_posts(BOSTON, "U0ANA", "after reconnect")
    await sink.wait(1)
    assert sink.texts() == [plain("after reconnect")]
    assert len(fake.calls_to("apps.connections.open")) >= 3  # start check, first connection, reconnection


async def test_every_call_goes_through_api_url(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    await make_adapter()
    methods = {c["method"] for c in fake.calls}
    assert {"auth.test", "apps.connections.open"} <= methods


async def test_bad_app_token_fails_start(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await make_adapter(environ={"SLACK_APP_TOKEN": "xapp-wrong"})


async def test_bad_bot_token_fails_start(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    with pytest.raises(ConfigError, match="bot token"):
        await make_adapter(environ={"SLACK_BOT_TOKEN": "xoxb-wrong"})


async def test_missing_tokens_name_the_variable(make_adapter: AdapterFactory) -> None:
    adapter, sink = await make_adapter(start=False, environ={"SLACK_APP_TOKEN": ""})
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await adapter.start(sink)


async def test_profiles_are_looked_up_once(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    for i in range(3):
        await fake.user_posts(BOSTON, "U0ANA", f"m{i}")
    await fake.command("/agora", "status", user="U0ANA", channel=BOSTON)
    await sink.wait(4)
    lookups = fake.calls_to("users.info")
    assert [c["params"]["user"] for c in lookups] == ["U0ANA"]
    assert lookups[0]["params"]["include_locale"] in ("1", "true", True)
