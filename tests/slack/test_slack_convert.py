"""Recorded Slack message payloads → what the adapter hands on (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.convert import (
    Edit,
    Identity,
    NewMessage,
    Removal,
    convert_message,
    copy_nonce,
    is_agora_copy,
    text_of,
)
from bot.events import Attachment
from bot.richtext import Emoji, Styled, Text
from testing.slack_server import load_payload

OWN = Identity(bot_id="BBOT", bot_user_id="UBOT")


def convert(name: str, *, relay_bots: bool = False, **changes: Any) -> Any:
    payload = load_payload(name)
    payload.update(changes)
    return convert_message(payload, payload.get("channel", "C0BOSTON"), own=OWN, relay_bots=relay_bots)


def test_user_message() -> None:
    record = convert("message")
    assert record == NewMessage(
        channel="C0BOSTON",
        ts="1700000000.000100",
        thread_ts=None,
        user_id="U0ANA",
        fallback_name="U0ANA",
        fallback_avatar=None,
        is_bot=False,
        text=(
            Text("Which shelters in your city accept families? "),
            Styled("bold", (Text("urgent"),), "*"),
            Text(" "),
            Emoji("pray"),
        ),
    )


def test_thread_reply_carries_its_root() -> None:
    record = convert("thread_reply")
    assert isinstance(record, NewMessage)
    assert record.thread_ts == "1700000000.000100"
    assert record.ts == "1700000050.000200"


def test_thread_root_is_not_a_reply() -> None:
    record = convert("message", thread_ts="1700000000.000100")
    assert isinstance(record, NewMessage) and record.thread_ts is None


def test_thread_broadcast_is_a_reply() -> None:
    record = convert("thread_broadcast")
    assert isinstance(record, NewMessage) and record.thread_ts == "1700000000.000100"


def test_file_share_carries_the_download_link_size_type_and_id() -> None:
    record = convert("file_share")
    assert isinstance(record, NewMessage)
    assert record.attachments == (
        Attachment(
            "pit-count-2024.pdf",
            "https://files.slack.com/files-pri/T0001-F0PIT2024/download/pit-count-2024.pdf",
            48213,
            "application/pdf",
            "F0PIT2024",
        ),
    )
    assert record.text == (Text("Our point-in-time count for 2024"),)


def test_edit() -> None:
    record = convert("message_changed")
    assert record == Edit(
        "C0BOSTON", "1700000000.000100", (Text("Which shelters in your city accept families with pets?"),)
    )


def test_edit_that_changes_no_words_is_dropped() -> None:
    payload = load_payload("message_changed")
    payload["message"]["text"] = payload["previous_message"]["text"]
    payload["message"]["attachments"] = [{"title": "link preview"}]
    assert convert_message(payload, "C0BOSTON", own=OWN) is None


def test_thread_root_deleted_under_replies_is_a_tombstone() -> None:
    payload = load_payload("message_changed")
    payload["message"].update({"subtype": "tombstone", "text": "This message was deleted."})
    assert convert_message(payload, "C0BOSTON", own=OWN) == Removal("C0BOSTON", "1700000000.000100")


def test_delete() -> None:
    assert convert("message_deleted") == Removal("C0BOSTON", "1700000000.000100")


def test_own_copy_and_its_edits_and_deletes_are_dropped() -> None:
    own = load_payload("own_copy")
    assert is_agora_copy(own) and copy_nonce(own) == "n-1-C0LIMA"
    assert convert_message(own, "C0LIMA", own=OWN) is None
    changed = load_payload("message_changed")
    changed["message"] = dict(own, text="edited copy")
    changed["previous_message"] = own
    assert convert_message(changed, "C0LIMA", own=OWN) is None
    deleted = load_payload("message_deleted")
    deleted["previous_message"] = own
    assert convert_message(deleted, "C0LIMA", own=OWN) is None


def test_own_post_without_metadata_is_dropped_by_bot_id() -> None:
    own = load_payload("own_copy")
    own.pop("metadata")
    assert convert_message(own, "C0LIMA", own=OWN) is None
    assert convert_message(own, "C0LIMA", own=Identity(bot_user_id="UBOT"), relay_bots=True) is None


def test_agora_copy_of_another_install_is_dropped_even_with_relay_bots() -> None:
    own = load_payload("own_copy")
    own.update({"bot_id": "BOTHER", "user": "UOTHER"})
    assert convert_message(own, "C0LIMA", own=OWN, relay_bots=True) is None


def test_other_bots_only_when_configured() -> None:
    assert convert("bot_message") is None
    record = convert("bot_message", relay_bots=True)
    assert isinstance(record, NewMessage)
    assert record.is_bot and record.fallback_name == "Open Data Bot"
    assert record.fallback_avatar == "https://bots.example.org/opendata_48.png"


@pytest.mark.parametrize(
    "subtype", ["channel_join", "channel_leave", "channel_topic", "channel_purpose", "pinned_item"]
)
def test_system_messages_are_dropped(subtype: str) -> None:
    assert convert("channel_join", subtype=subtype) is None


def test_user_profile_gives_a_fallback_name_and_avatar() -> None:
    record = convert(
        "message", user_profile={"display_name": "Ana", "real_name": "Ana Souza", "image_72": "https://a/72.png"}
    )
    assert isinstance(record, NewMessage)
    assert (record.fallback_name, record.fallback_avatar) == ("Ana", "https://a/72.png")


def test_text_is_the_fallback_when_blocks_show_nothing() -> None:
    message = {
        "type": "message",
        "text": "see *this*",
        "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [{"type": "x"}]}]}],
    }
    assert text_of(message) == (Text("see "), Styled("bold", (Text("this"),), "*"))
    assert text_of({"text": "plain", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}) == (
        Text("plain"),
    )
