"""Names, not ids: user, channel and user-group mentions get labels before they reach the core."""

from __future__ import annotations

import asyncio

import pytest

from adapters.slack.names import Names, TtlCache
from adapters.slack.users import UserDirectory
from bot.errors import DeliveryError
from bot.events import IncomingMessage, MessageEdited, TranslateRequest
from bot.richtext import Mention, Styled, Text, neutralise, to_plain
from testing.slack_server import TEAM, FakeSlack
from tests.slack.conftest import BOSTON, AdapterFactory

ISSUE_TEXT = "Thanks <@U0LUIS> for the data in <#C0LIMA>, cc <!subteam^S0DATA> and <@U0ANA|ana.b>"


async def test_text_mentions_are_named(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    fake.add_usergroup("S0DATA", "data-team")
    _, sink = await make_adapter()
    await fake.user_posts(BOSTON, "U0BIA", ISSUE_TEXT)
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    mentions = [s for s in event.text if isinstance(s, Mention)]
    assert mentions == [
        Mention("user", "U0LUIS", "Luis"),
        Mention("channel", "C0LIMA", "agora-lima"),
        Mention("group", "S0DATA", "data-team"),
        Mention("user", "U0ANA", "ana.b"),  # a label Slack sent is kept
    ]
    # what a copy shows: names, and nothing that pings
    assert to_plain(neutralise(event.text)) == "Thanks @Luis for the data in #agora-lima, cc @data-team and @ana.b"


async def test_unknown_ids_fall_back_to_neutral_labels(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    fake.workspaces[TEAM].scopes = fake.workspaces[TEAM].scopes.replace(",usergroups:read", "")
    _, sink = await make_adapter()
    await fake.user_posts(BOSTON, "U0ANA", "<@U0GHOST> <#C0GONE> <!subteam^S0DATA> *<@U0GHOST>*")
    await fake.user_posts(BOSTON, "U0ANA", "<!subteam^S0OTHER> again")
    first, second = await sink.wait(2)
    assert isinstance(first, IncomingMessage) and isinstance(second, IncomingMessage)
    assert to_plain(neutralise(first.text)) == "@unknown-user #unknown @group @unknown-user"
    assert to_plain(neutralise(second.text)) == "@group again"
    assert isinstance(first.text[-1], Styled)
    # without usergroups:read the list is asked for once, then not again for a while
    assert len(fake.calls_to("usergroups.list")) == 1


async def test_lookups_are_cached(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    fake.add_usergroup("S0DATA", "data-team")
    _, sink = await make_adapter()
    for i in range(3):
        await fake.user_posts(BOSTON, "U0ANA", f"{i} <@U0LUIS> <#C0LIMA> <!subteam^S0DATA>")
    await sink.wait(3)
    assert [c["params"]["user"] for c in fake.calls_to("users.info")] == ["U0ANA", "U0LUIS"]
    assert [c["params"]["channel"] for c in fake.calls_to("conversations.info")] == ["C0LIMA"]
    assert len(fake.calls_to("usergroups.list")) == 1


async def test_edits_are_named_too(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    ts = await fake.user_posts(BOSTON, "U0ANA", "thanks")
    await fake.user_edits(BOSTON, ts, "thanks <@U0LUIS>")
    _, edit = await sink.wait(2)
    assert isinstance(edit, MessageEdited)
    assert Mention("user", "U0LUIS", "Luis") in edit.text


async def test_translate_for_me_names_mentions(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    _, sink = await make_adapter()
    ts = await fake.user_posts(BOSTON, "U0ANA", "ask <@U0LUIS> in <#C0LIMA>", deliver=False)
    await fake.shortcut("translate_for_me", BOSTON, ts, user="U0BIA")
    (event,) = await sink.wait(1)
    assert isinstance(event, TranslateRequest)
    assert to_plain(neutralise(event.text)) == "ask @Luis in #agora-lima"


async def test_catch_up_names_mentions(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    first, _ = await make_adapter()
    await first.stop()
    await fake.user_posts(BOSTON, "U0ANA", "while down, <@U0LUIS>", deliver=False)
    _, sink = await make_adapter()
    (event,) = await sink.wait(1)
    assert isinstance(event, IncomingMessage)
    assert to_plain(neutralise(event.text)) == "while down, @Luis"


async def test_failed_channel_lookup_is_retried_later() -> None:
    calls: list[str] = []

    async def channel_lookup(team: str, channel: str) -> dict[str, object]:
        calls.append(channel)
        raise DeliveryError("slack conversations.info: ratelimited", retriable=True)

    async def groups(team: str) -> list[dict[str, object]]:
        return []

    async def users(team: str, user: str) -> dict[str, object]:
        raise DeliveryError("no", retriable=False)

    names = Names(UserDirectory(users), channel_lookup, groups, retry_after_failure=0.05)
    rt = (Mention("channel", "C1"),)
    assert await names.label(TEAM, rt) == (Mention("channel", "C1", "unknown"),)
    assert await names.label(TEAM, rt) == (Mention("channel", "C1", "unknown"),)
    assert calls == ["C1"]  # the failure is remembered for a while …
    await asyncio.sleep(0.06)
    await names.label(TEAM, rt)
    assert calls == ["C1", "C1"]  # … then asked again


def test_cache_is_bounded_and_expires() -> None:
    cache: TtlCache[str, int] = TtlCache(ttl=60, size=3)
    for i in range(5):
        cache.put(str(i), i)
    assert len(cache) == 3 and cache.get("0") is None and cache.get("4") == 4
    expired: TtlCache[str, int] = TtlCache(ttl=0, size=3)
    expired.put("a", 1)
    assert expired.get("a") is None


@pytest.mark.parametrize("label", ["", "Luis"])
async def test_text_without_mentions_is_returned_as_is(label: str) -> None:
    async def never(*args: object) -> dict[str, object]:
        raise AssertionError("no lookup expected")

    async def no_groups(team: str) -> list[dict[str, object]]:
        raise AssertionError("no lookup expected")

    names = Names(UserDirectory(never), never, no_groups)
    rt = (Text("hi "), Mention("user", "U1", label)) if label else (Text("hi"),)
    assert await names.label(TEAM, rt) == rt
