"""HTTP mode: the fake Slack POSTs signed requests to the adapter's own endpoint on 127.0.0.1."""

from __future__ import annotations

import time

from adapters.slack import SlackAdapter, blocks
from bot.events import ChannelRef, CommandInvoked, Event, IncomingMessage, OutgoingMessage, Reply, TranslateRequest
from bot.richtext import Styled, Text, plain
from testing.slack_server import TEAM, FakeSlack, event_callback, message_event
from tests.slack.captured import captured
from tests.slack.conftest import BOSTON, LIMA, AdapterFactory, Sink


async def http_adapter(fake: FakeSlack, make_adapter: AdapterFactory) -> tuple[SlackAdapter, Sink]:
    adapter, sink = await make_adapter(mode="http", http_port=0, environ={"SLACK_APP_TOKEN": ""})
    fake.events_url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    return adapter, sink


def body_for(text: str, event_id: str) -> dict[str, object]:
    return event_callback(message_event(BOSTON, "U0ANA", text, f"{time.time():.6f}"), event_id=event_id)


async def test_signed_event_becomes_incoming_message(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await http_adapter(fake, make_adapter)
    assert fake.calls_to("apps.connections.open") == []  # no socket in HTTP mode
    status, _ = await fake.deliver_event(body_for("hola", "Ev0HTTP0001"))
    assert status == 200
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    assert (event.channel, event.text, event.event_id) == (
        ChannelRef("slack", TEAM, BOSTON),
        plain("hola"),
        "Ev0HTTP0001",
    )


async def test_forged_and_stale_requests_are_rejected_and_change_nothing(
    fake: FakeSlack, make_adapter: AdapterFactory
) -> None:
    adapter, sink = await http_adapter(fake, make_adapter)
    assert fake.events_url
    body = body_for("forged", "Ev0FORGED01")
    status, _ = await fake.post_http(fake.events_url, body, secret="not-the-secret")
    assert status == 401
    status, _ = await fake.post_http(fake.events_url, body, timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    status, _ = await fake.post_http(fake.events_url, body, timestamp=int(time.time()) + 6 * 60)
    assert status == 401
    assert adapter.tables.count_keys() == 0  # not even the event id was recorded
    assert sink.events == []
    # the genuine delivery of the same event still goes through
    status, _ = await fake.deliver_event(body)
    assert status == 200
    await sink.wait(1)
    assert sink.texts() == [plain("forged")]


async def test_retries_produce_one_event(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await http_adapter(fake, make_adapter)
    body = body_for("only once", "Ev0RETRY0HTTP")
    for retry in (None, 1, 2, 3):
        status, _ = await fake.deliver_event(body, retry_num=retry)
        assert status == 200
    await fake.deliver_event(body_for("marker", "Ev0MARKER"))
    await sink.wait(2)
    assert sink.texts() == [plain("only once"), plain("marker")]


async def test_url_verification(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    await http_adapter(fake, make_adapter)
    assert fake.events_url
    status, text = await fake.post_http(fake.events_url, {"type": "url_verification", "challenge": "abc123"})
    assert status == 200 and "abc123" in text


async def test_slash_command_over_http(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await http_adapter(fake, make_adapter)

    async def core(event: Event) -> None:
        assert isinstance(event, CommandInvoked)
        await event.reply(Reply(plain("Pregunta #3 enviada"), False))

    sink.hook = core
    rid, (status, text) = await fake.command("/ask", "¿Cómo miden la equidad climática?", user="U0LUIS", channel=BOSTON)
    assert (status, text) == (200, "")  # the ack is the HTTP answer
    (event,) = await sink.wait(1)
    assert isinstance(event, CommandInvoked) and event.locale == "es-419"
    (response,) = await fake.wait_for(lambda: fake.responses_for(rid))
    assert (response["response_type"], response["text"]) == ("in_channel", "Pregunta #3 enviada")


async def test_shortcut_over_http(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await http_adapter(fake, make_adapter)
    ts = await fake.user_posts(BOSTON, "U0ANA", "Budget hearing moved", deliver=False)

    async def core(event: Event) -> None:
        if isinstance(event, TranslateRequest):
            await event.reply(Reply(plain("Audiência do orçamento adiada")))

    sink.hook = core
    _, (status, _) = await fake.shortcut("translate_for_me", BOSTON, ts, user="U0BIA")
    assert status == 200
    (ephemeral,) = await fake.wait_for(lambda: fake.records_for(BOSTON, "ephemeral"))
    assert ephemeral["text"] == "Audiência do orçamento adiada"


async def test_own_echo_dropped_in_http_mode(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, sink = await http_adapter(fake, make_adapter)
    await adapter.send(OutgoingMessage(ChannelRef("slack", TEAM, LIMA), plain("copy"), nonce="n"))
    await fake.settle()
    assert [status for status, _ in fake.echo_results] == [200]  # Slack did send it back
    await fake.deliver_event(body_for("marker", "Ev0MARK2"))
    await sink.wait(1)
    assert sink.texts() == [plain("marker")]


async def test_captured_rich_text_over_http(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await http_adapter(fake, make_adapter)
    event = captured("rich_text_styles")
    event["channel"] = BOSTON
    status, _ = await fake.deliver_event(event_callback(event, event_id="Ev0RICH"))
    assert status == 200
    (incoming,) = await sink.wait(1)
    assert isinstance(incoming, IncomingMessage)
    assert incoming.text == blocks.parse(event["blocks"])
    assert Styled("bold", (Text("rich text "),), "*") in incoming.text
