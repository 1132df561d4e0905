"""Replayed slash commands are refused in both modes; malformed HTTP requests get 400, not 500."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import aiohttp

from adapters.slack import SlackAdapter
from bot.events import CommandInvoked, IncomingMessage, TranslateRequest
from bot.store.sql import Database
from testing.slack_server import TEAM, FakeSlack, message_shortcut, sign, slash_command
from tests.slack.captured import captured
from tests.slack.conftest import BOSTON, AdapterFactory, Sink


async def http_adapter(
    fake: FakeSlack, make_adapter: AdapterFactory, database: Database | None = None
) -> tuple[SlackAdapter, Sink]:
    adapter, sink = await make_adapter(mode="http", http_port=0, environ={"SLACK_APP_TOKEN": ""}, database=database)
    fake.events_url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    return adapter, sink


async def test_signed_ask_sent_three_times_relays_once_over_http(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await http_adapter(fake, make_adapter)
    assert fake.events_url
    _, url = fake.response_url()
    body = urlencode(slash_command("/ask", "How do you count?", user="U0ANA", channel=BOSTON, response_url=url))
    timestamp = str(int(time.time()))
    for _ in range(3):  # the attacker replays the captured request, signature and all, within the window
        status, _ = await post(fake.events_url, body, timestamp, sign(fake.signing_secret, timestamp, body))
        assert status == 200
    second = slash_command("/ask", "A different question", user="U0ANA", channel=BOSTON, response_url=url)
    await fake.post_http(fake.events_url, second, form=True)
    await sink.wait(2)
    assert [e.args for e in sink.of(CommandInvoked)] == ["How do you count?", "A different question"]


async def test_replay_refused_in_socket_mode_and_after_a_restart(
    fake: FakeSlack, make_adapter: AdapterFactory, db: Database
) -> None:
    first, sink = await make_adapter()
    _, url = fake.response_url()
    payload = slash_command("/agora", "status", user="U0ANA", channel=BOSTON, response_url=url)
    for _ in range(3):
        envelope = await fake.push("slash_commands", payload)
        await fake.wait_ack(envelope)  # acknowledged every time (Slack must not retry) …
    await fake.user_posts(BOSTON, "U0ANA", "marker")
    await sink.wait(2)
    assert len(sink.of(CommandInvoked)) == 1  # … but run once
    await first.stop()

    _, sink2 = await make_adapter(database=db)  # the same database after a restart
    await fake.wait_ack(await fake.push("slash_commands", payload))
    await fake.user_posts(BOSTON, "U0ANA", "marker 2")
    await sink2.wait(1)
    assert sink2.of(CommandInvoked) == [] and len(sink2.of(IncomingMessage)) == 1


async def post(url: str, body: str, timestamp: str, signature: str, ctype: str = "") -> tuple[int, str]:
    headers = {
        "Content-Type": ctype or "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    async with aiohttp.ClientSession() as session, session.post(url, data=body.encode(), headers=headers) as resp:
        return resp.status, await resp.text()


async def test_bad_timestamps_and_malformed_bodies_get_400(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    adapter, sink = await http_adapter(fake, make_adapter)
    url = fake.events_url
    assert url
    body = json.dumps({"type": "event_callback", "event": {"type": "message"}})
    for timestamp in ("abc", "1.5", "١٧٠٠٠٠٠٠٠٠", "9" * 5000, ""):
        status, _ = await post(url, body, timestamp, sign(fake.signing_secret, timestamp, body), "application/json")
        assert status == 400, timestamp
    now = str(int(time.time()))
    malformed = [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"just a string"', "application/json"),
        ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
        ('{"type": "event_callback", "event": 5, "authorizations": "x"}', "application/json"),
    ]
    for raw, ctype in malformed:
        status, _ = await post(url, raw, now, sign(fake.signing_secret, now, raw), ctype)
        assert status == 400, raw
        # the same body unsigned is refused as unsigned
        status, _ = await post(url, raw, now, "v0=" + "0" * 64, ctype)
        assert status == 401, raw
    assert sink.events == [] and adapter.tables.count_keys() == 0


async def test_replayed_shortcut_is_refused(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    ts = await fake.user_posts(BOSTON, "U0ANA", "Budget hearing moved", deliver=False)
    _, url = fake.response_url()
    message = fake._find(fake.channels[BOSTON], ts)
    payload = message_shortcut("translate_for_me", message, user="U0BIA", channel=BOSTON, response_url=url)
    for _ in range(2):
        await fake.wait_ack(await fake.push("interactive", payload))
    await fake.user_posts(BOSTON, "U0ANA", "marker")
    await sink.wait(2)
    assert len(sink.of(TranslateRequest)) == 1


async def test_unhandled_events_get_200_over_http(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await http_adapter(fake, make_adapter)
    body = captured("bolt_reaction_added")
    body["team_id"] = TEAM
    status, _ = await fake.deliver_event(body)
    assert status == 200 and sink.events == []
