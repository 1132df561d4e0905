"""Real captured Slack payloads (tests/payloads/slack/captured/, sources named in each file)
through the real slack-bolt code path, the real core and the fake Slack: what reaches the
other city.

Boston and Lima are two Slack channels of one network in mirror mode, both in English, so
every top-level message travels and nothing is translated: what Lima receives is exactly
what the adapter made of the payload. Only the channel and team ids of a payload are
replaced (they must be a linked channel); every other id is kept, and the fake Slack knows
the people, channels and groups those ids name, as the workspace they came from did.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import blocks, markup
from bot.app import Agora
from bot.config import parse_config
from bot.richtext import (
    Code,
    CodeBlock,
    Emoji,
    LineBreak,
    Link,
    Quote,
    RichText,
    Segment,
    Styled,
    Text,
    to_plain,
)
from testing.polling import relayed
from testing.slack_server import APP_TOKEN, BOT_TOKEN, TEAM, FakeSlack, event_callback
from testing.translator import MarkingTranslator
from tests.slack.captured import captured
from tests.slack.conftest import BOSTON, LIMA


def b(*children: Segment) -> Styled:
    return Styled("bold", tuple(children), "*")


def i(*children: Segment) -> Styled:
    return Styled("italic", tuple(children), "_")


def s(*children: Segment) -> Styled:
    return Styled("strike", tuple(children), "~")


@pytest.fixture
async def agora(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Agora]:
    # The people, channels and groups the captured payloads mention, as their workspaces knew them.
    fake.add_user("U0JD3BPNC", "Kaz Sato")
    fake.add_user("W12345678", "kaz")
    fake.add_user("U03E94MK0", "Ana Lima")
    fake.add_user("U111", "Renata")
    fake.add_user("W222", "Diego")
    fake.add_user("W111", "Agora Bot")
    fake.add_channel("C123456678", "platform-feedback")
    fake.add_channel("CHE2DUW5V", "data-standards")
    fake.add_usergroup("SKAQ0Q1NW", "data-team")
    raw = {
        "agora": {"database": str(tmp_path / "agora.db")},
        "adapters": {"web": {"host": "127.0.0.1", "port": 0}, "slack": {"api_url": fake.api_url, "timeout": 5}},
        "outbox": {"backoff_base": 0.01, "backoff_max": 0.05},
        "networks": [
            {
                "name": "wwc",
                "channels": [
                    {"ref": f"slack:{TEAM}/{BOSTON}", "city": "Boston", "lang": "en", "mode": "mirror"},
                    {"ref": f"slack:{TEAM}/{LIMA}", "city": "Lima", "lang": "en", "mode": "mirror"},
                ],
            }
        ],
    }
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
    bot = Agora(parse_config(raw, base=tmp_path, environ={}), translator=MarkingTranslator(), environ=env)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop(grace=1)


def in_boston(event: dict[str, Any]) -> dict[str, Any]:
    """The captured event, posted in the linked Boston channel."""
    event = copy.deepcopy(event)
    event["channel"] = BOSTON
    if "team" in event:
        event["team"] = TEAM
    return event


def whole_body_in_boston(body_: dict[str, Any]) -> dict[str, Any]:
    """A captured event_callback body, addressed to Boston's workspace and channel."""
    body_ = copy.deepcopy(body_)
    body_["type"] = "event_callback"  # schema samples blank it
    body_["team_id"] = TEAM
    for auth in body_.get("authorizations") or ():
        auth["team_id"] = TEAM
    if isinstance(body_.get("event"), dict) and "channel" in body_["event"]:
        body_["event"]["channel"] = BOSTON
    return body_


async def send(fake: FakeSlack, event: dict[str, Any]) -> None:
    """Slack delivers the event (Socket Mode) and Boston's history holds the message."""
    message = {k: v for k, v in event.items() if k not in ("channel", "event_ts", "channel_type")}
    if "ts" in message and not message.get("subtype", "").startswith("message_"):
        fake.channels[BOSTON].messages.append(message)
    await fake.deliver_event(event_callback(event))


async def lima_receives(fake: FakeSlack, agora: Agora, count: int = 1) -> list[dict[str, Any]]:
    """The copies posted in Lima (waits for ``count``)."""
    return await lima_records(fake, agora, "post", count)


async def lima_records(fake: FakeSlack, agora: Agora, op: str, count: int = 1) -> list[dict[str, Any]]:
    """Lima's records of ``op`` once there are at least ``count`` (the outbox drained between looks)."""

    def enough() -> list[dict[str, Any]] | None:
        records = fake.records_for(LIMA, op)
        return records if len(records) >= count else None

    found: list[dict[str, Any]] = await relayed(agora.outbox, enough, f"{count} {op} in Lima")
    return found


def body(post: dict[str, Any]) -> RichText:
    """What a Slack reader in Lima sees in the copy's blocks, without Agora's footer line."""
    rt = blocks.parse(post["blocks"])
    assert rt is not None, post
    assert len(rt) >= 2 and isinstance(rt[-2], LineBreak) and isinstance(rt[-1], Styled), rt
    return rt[:-2]


def words(post: dict[str, Any]) -> str:
    """The copy's mrkdwn text without the footer line."""
    text: str = post["text"]
    return text.rsplit("\n", 1)[0]


async def nothing_relayed(fake: FakeSlack, agora: Agora) -> None:
    """A marker message goes through; nothing before it did."""
    await fake.user_posts(BOSTON, "U0ANA", "marker")
    (post,) = await lima_receives(fake, agora)
    assert words(post) == "marker"


# ------------------------------------------------------------ rich text


async def test_rich_text_styles_come_out_exactly_as_the_blocks_say(fake: FakeSlack, agora: Agora) -> None:
    payload = captured("rich_text_styles")
    # The mrkdwn fallback alone gets it wrong (its bold span ends in a space, so Slack shows *…* literally).
    assert payload["text"].startswith("This is a *rich text *message that uses _italics and _~strikethrough ~and")
    await send(fake, in_boston(payload))
    (post,) = await lima_receives(fake, agora)
    want = (
        Text("This is a "),
        b(Text("rich text ")),
        Text("message that uses "),
        i(Text("italics and ")),
        s(Text("strikethrough ")),
        Text("and looks "),
        Emoji("sparkles"),
        Text(" "),
        b(i(Text("fabulous"))),
        Text(" "),
        Emoji("sparkles"),
    )
    assert body(post) == want
    assert post["blocks"][0]["elements"][0]["elements"][1] == {
        "type": "text",
        "text": "rich text ",
        "style": {"bold": True},
    }
    # the mrkdwn text that goes along (notifications) has well-formed spans
    assert words(post) == (
        "This is a *rich text* message that uses _italics and_ ~strikethrough~ and looks :sparkles: "
        "*_fabulous_* :sparkles:"
    )
    assert post["username"].startswith("Kaz Sato")


async def test_every_element_and_style(fake: FakeSlack, agora: Agora) -> None:
    event = in_boston(captured("rich_text_every_element"))
    event.update({"type": "message", "user": "U03E94MK0", "ts": "1700000001.000100"})
    await send(fake, event)
    (post,) = await lima_receives(fake, agora)
    inner = (
        Text("2009-02-13 23:31 UTC"),  # date: its timestamp (no fallback in the payload)
        s(Link("https://slack.com/", "with a link")),
        Text("we are near the end"),
        Emoji("basketball"),
        s(Text("#F405B3")),  # color: its value
        Text("@workspace@Ana Lima@data-team@here#data-standards"),  # team, user, group, broadcast, channel
    )
    assert body(post) == (b(i(*inner)),)
    assert "<!here>" not in post["text"] and "<@" not in post["text"] and "<!subteam" not in post["text"]
    assert "U03E94MK0" not in post["text"] and "SKAQ0Q1NW" not in post["text"] and "CHE2DUW5V" not in post["text"]


async def test_mentions_broadcast_and_link_named_and_neutralised(fake: FakeSlack, agora: Agora) -> None:
    await send(fake, in_boston(captured("rich_text_mentions_broadcast")))
    (post,) = await lima_receives(fake, agora)
    assert body(post) == (
        Text("@channel test a"),
        s(Text("aaa")),
        LineBreak(),
        Text("#platform-feedback"),
        LineBreak(),
        Text("test"),
        LineBreak(),
        Link("http://www.example.com"),
        LineBreak(),
        Text("@kaz"),
    )
    assert "<!channel>" not in post["text"] and "<#C" not in post["text"] and "<@W" not in post["text"]


async def test_lists_quote_and_code_block(fake: FakeSlack, agora: Agora) -> None:
    await send(fake, in_boston(captured("rich_text_lists_quote_code")))
    (post,) = await lima_receives(fake, agora)
    assert body(post) == (
        Text("@kaz"),
        LineBreak(),
        Text("• test"),
        LineBreak(),
        Text("• aaaa"),
        LineBreak(),
        LineBreak(),
        Text("1. foo"),
        LineBreak(),
        Text("2. bar"),
        LineBreak(),
        Text("3. baz"),
        LineBreak(),
        Quote((Text("something important"),)),
        LineBreak(),
        CodeBlock("package example\n\nclass Foo"),
        LineBreak(),
        LineBreak(),
        b(Text("bold")),
        Text(" something "),
        i(Text("italic")),
    )
    kinds = [c["type"] for c in post["blocks"][0]["elements"]]
    assert kinds == ["rich_text_section", "rich_text_quote", "rich_text_preformatted", "rich_text_section"]
    assert "> something important\n```\npackage example\n\nclass Foo\n```" in post["text"]


async def test_nested_lists_are_indented(fake: FakeSlack, agora: Agora) -> None:
    event = in_boston(captured("rich_text_nested_lists"))
    event.update({"type": "message", "user": "U111", "ts": "1700000002.000100", "text": "1\n11\n111"})
    await send(fake, event)
    (post,) = await lima_receives(fake, agora)
    assert to_plain(body(post)) == "• 1\n  • 11\n    • 111\n1. 1\n  1. 11\n    1. 111"


async def test_inline_code_underline_and_skin_tone(fake: FakeSlack, agora: Agora) -> None:
    underline = in_boston(captured("rich_text_underline"))
    await send(fake, underline)
    tone = in_boston(captured("rich_text_skin_tone"))
    tone.update({"type": "message", "user": "U111", "ts": "1761165700.000100", "text": "Hello :wave: :rocket:"})
    await send(fake, tone)
    first, second = await lima_receives(fake, agora, 2)
    assert body(first) == (Styled("underline", (Text("this is underline"),), ""),)
    assert first["blocks"][0]["elements"][0]["elements"][0]["style"] == {"underline": True}
    assert body(second) == (Text("Hello"), Emoji("wave::skin-tone-3"), Emoji("rocket"))
    assert second["blocks"][0]["elements"][0]["elements"][1] == {"type": "emoji", "name": "wave", "skin_tone": 3}


async def test_unknown_rich_text_element_keeps_the_rest(fake: FakeSlack, agora: Agora) -> None:
    event = in_boston(captured("rich_text_unknown_element"))
    event.update({"type": "message", "user": "U111", "ts": "1700000003.000100", "text": "Hello"})
    await send(fake, event)
    (post,) = await lima_receives(fake, agora)
    assert body(post) == (Text("Hello"),)


# ------------------------------------------------- subtypes, edits, deletes


async def test_me_message_in_italics(fake: FakeSlack, agora: Agora) -> None:
    await send(fake, in_boston(captured("me_message")))
    (post,) = await lima_receives(fake, agora)
    assert body(post) == (i(Text("hey")),)
    assert words(post) == "_hey_" and post["username"].startswith("Ana Lima")


@pytest.mark.parametrize(
    "name",
    [
        "channel_join",
        "channel_name",
        "channel_topic",
        "channel_archive",
        "channel_unarchive",
        "channel_posting_permissions",
        "channel_convert_to_public",
        "group_topic",
    ],
)
async def test_system_subtypes_are_not_relayed(fake: FakeSlack, agora: Agora, name: str) -> None:
    await send(fake, in_boston(captured(name)))
    await nothing_relayed(fake, agora)


async def test_other_bots_are_not_relayed(fake: FakeSlack, agora: Agora) -> None:
    await send(fake, in_boston(captured("bot_message")))
    await send(fake, in_boston(captured("bot_message_thread")))
    await nothing_relayed(fake, agora)


async def test_edit_of_a_relayed_message(fake: FakeSlack, agora: Agora) -> None:
    original = captured("bolt_message_changed")["event"]["previous_message"]
    await send(fake, in_boston(original))
    await lima_receives(fake, agora)
    # its new message carries no ts: the previous message's is used
    await fake.deliver_event(whole_body_in_boston(captured("bolt_message_changed")))
    updates = await lima_records(fake, agora, "update")
    (update,) = updates
    assert words(update) == "updated message" and body(update) == (Text("updated message"),)


async def test_edit_of_a_thread_reply_and_tombstone(fake: FakeSlack, agora: Agora) -> None:
    changed = captured("message_changed_thread_reply")
    root = {"type": "message", "user": "U111", "text": "root", "ts": changed["message"]["thread_ts"]}
    await send(fake, in_boston(root))
    await send(fake, in_boston(changed["previous_message"]))  # the reply as first posted
    await lima_receives(fake, agora, 2)
    await send(fake, in_boston(changed))
    await lima_records(fake, agora, "update")
    (update,) = fake.records_for(LIMA, "update")
    assert words(update) == "updated message"
    # a thread root deleted while it has replies turns into a tombstone: its copies go too
    tombstone = captured("message_changed_tombstone")
    tombstone["message"]["ts"] = tombstone["previous_message"]["ts"] = root["ts"]
    await send(fake, in_boston(tombstone))
    await lima_records(fake, agora, "delete")
    (delete,) = fake.records_for(LIMA, "delete")
    assert delete["ts"] == fake.records_for(LIMA, "post")[0]["ts"]


async def test_delete_of_a_relayed_message(fake: FakeSlack, agora: Agora) -> None:
    deleted = captured("bolt_message_deleted")
    await send(fake, in_boston(deleted["event"]["previous_message"]))
    (post,) = await lima_receives(fake, agora)
    await fake.deliver_event(whole_body_in_boston(deleted))
    await lima_records(fake, agora, "delete")
    assert [d["ts"] for d in fake.records_for(LIMA, "delete")] == [post["ts"]]


async def test_thread_broadcast_goes_into_the_thread(fake: FakeSlack, agora: Agora) -> None:
    broadcast = captured("bolt_thread_broadcast")["event"]
    await send(fake, in_boston(broadcast["root"]))
    (root_copy,) = await lima_receives(fake, agora)
    await send(fake, in_boston(broadcast))
    _, reply = await lima_receives(fake, agora, 2)
    assert reply["thread_ts"] == root_copy["ts"] and words(reply) == "Hi there!"


@pytest.mark.parametrize("name", ["bolt_file_share", "file_snippet", "file_share_thread"])
async def test_shared_files_are_uploaded_to_the_other_city(fake: FakeSlack, agora: Agora, name: str) -> None:
    payload = captured(name)
    event = payload.get("event", payload)
    event.pop("thread_ts", None)  # the thread it was in is not in this channel
    want = set()
    for f in event["files"]:
        data = (f["name"].encode() * 1000)[: int(f.get("size") or 100)]
        hosted = fake.host_file(f["name"], data, mimetype=f["mimetype"], user=f["user"])
        # the captured file object, with its download links pointing at the fake Slack that holds the bytes
        f.update({k: hosted[k] for k in ("id", "url_private", "url_private_download")})
        want.add((f["name"], hashlib.sha256(data).hexdigest()))
    await send(fake, in_boston(event))
    uploads = await lima_records(fake, agora, "upload", len(want))
    assert {(u["name"], u["sha256"]) for u in uploads} == want
    (message,) = [m for m in fake.channels[LIMA].messages if m.get("files")]
    assert event["text"] in message["text"]


async def test_plain_text_fallback_and_link_only_blocks(fake: FakeSlack, agora: Agora) -> None:
    await send(fake, in_boston(captured("plain_message")))
    link = in_boston(captured("link_only"))
    link["channel"] = BOSTON
    await send(fake, link)
    first, second = await lima_receives(fake, agora, 2)
    assert words(first) == "Live long and prospect."
    assert body(second) == (Link("https://slack.com/shortcuts/Ft111/xxx"),)


async def test_unhandled_events_are_acknowledged_quietly(
    fake: FakeSlack, agora: Agora, caplog: pytest.LogCaptureFixture
) -> None:
    bodies = [captured("bolt_app_mention"), captured("bolt_reaction_added")]
    for name in ("sample_member_joined_channel", "sample_pin_added", "sample_user_change", "sample_channel_rename"):
        bodies.append(captured(name))
    for body_ in bodies:
        envelope = await fake.push("events_api", whole_body_in_boston(body_))
        ack = await fake.wait_ack(envelope, timeout=3)
        assert ack["envelope_id"] == envelope
    assert fake.event_retries == 0
    assert not [r for r in caplog.records if "Unhandled" in r.getMessage() or r.levelname == "ERROR"]
    await nothing_relayed(fake, agora)


def test_mrkdwn_fallback_alone_would_get_the_styles_wrong() -> None:
    """Why blocks win: the payload's own mrkdwn text parses to other spans than its blocks."""
    payload = captured("rich_text_styles")
    from_text = markup.parse(payload["text"])
    from_blocks = blocks.parse(payload["blocks"])
    assert from_text != from_blocks
    assert "_" in to_plain(from_text) or "~" in to_plain(from_text)


def test_code_style_becomes_inline_code() -> None:
    rt = blocks.parse(
        [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "text", "text": "run "},
                            {"type": "text", "text": "agora doctor", "style": {"code": True, "bold": True}},
                        ],
                    }
                ],
            }
        ]
    )
    assert rt == (Text("run "), b(Code("agora doctor")))
    rendered = blocks.render(rt)
    assert rendered[0]["elements"][0]["elements"][1]["style"] == {"bold": True, "code": True}


async def test_search_results_show_names(fake: FakeSlack, agora: Agora) -> None:
    fake.add_usergroup("S0DATA", "data-team")
    await fake.user_posts(BOSTON, "U0ANA", "Shelter census owners: <@U0LUIS> with <!subteam^S0DATA> in <#C0LIMA>")
    await lima_receives(fake, agora)
    rid, _ = await fake.command("/agora", "search shelter census", user="U0LUIS", channel=LIMA)
    (response,) = await fake.wait_for(lambda: fake.responses_for(rid))
    assert "@Luis" in response["text"] and "@data-team" in response["text"] and "#agora-lima" in response["text"]
    assert "U0LUIS" not in response["text"] and "S0DATA" not in response["text"]


async def test_mrkdwn_mention_without_blocks_is_named(fake: FakeSlack, agora: Agora) -> None:
    """The text of bolt-python's captured app_mention, as the message event Slack sends beside it."""
    event = in_boston(captured("bolt_app_mention")["event"])
    event["type"] = "message"
    assert event["text"] == "<@W111> Hi there!" and "blocks" not in event
    await send(fake, event)
    (post,) = await lima_receives(fake, agora)
    assert words(post) == "@Agora Bot Hi there!"
    assert body(post) == (Text("@Agora Bot Hi there!"),)
