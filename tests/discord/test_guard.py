"""The payload repairs behind the guarded parsers (the corpus test drives them through discord.py)."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.discord.guard import FILLED, well_formed

DOCS = Path(__file__).resolve().parents[1] / "payloads" / "discord" / "gateway" / "docs.json"


def test_a_payload_discord_sends_is_left_as_it_is() -> None:
    for entry in json.loads(DOCS.read_text(encoding="utf-8"))["payloads"]:
        data = entry["data"]
        if entry["event"] == "MESSAGE_CREATE":
            data = {**data, "mentions": data.get("mentions", []), "mention_roles": data.get("mention_roles", [])}
            data.setdefault("attachments", [])
            data.setdefault("embeds", [])
        assert well_formed(entry["event"], data) == data, entry["name"]


def test_a_partial_update_does_not_empty_what_it_left_out() -> None:
    update = {"id": "1", "channel_id": "2", "embeds": [{"type": "link", "url": "https://example.org"}]}
    fixed = well_formed("MESSAGE_UPDATE", update)
    assert "attachments" not in fixed and "mentions" not in fixed
    assert fixed["content"] == "" and fixed[FILLED] == ["author", "content", "type"]


def test_foreign_shapes_become_discords() -> None:
    fixed = well_formed(
        "MESSAGE_CREATE",
        {
            "id": "1",
            "channel_id": "2",
            "author": None,
            "content": None,
            "mention_roles": [{"id": "7"}, "8", {"name": "no id"}],
            "attachments": [{"id": "3", "filename": "a.pdf", "proxy_url": "https://media.example/a.pdf"}, None],
            "message_reference": None,
            "message_snapshots": [{}],
        },
    )
    assert fixed["author"]["username"] == "unknown-user"
    assert fixed["mention_roles"] == ["7", "8"]
    assert fixed["attachments"] == [
        {
            "id": "3",
            "filename": "a.pdf",
            "proxy_url": "https://media.example/a.pdf",
            "url": "https://media.example/a.pdf",
            "size": 0,
        }
    ]
    assert "message_reference" not in fixed and fixed["message_snapshots"] == []
    member = well_formed("GUILD_MEMBER_UPDATE", {"guild_id": "1", "user": {"id": "2"}, "roles": [{"id": "3"}]})
    assert member["roles"] == ["3"] and member["joined_at"] is None and member["flags"] == 0
    thread = well_formed("THREAD_CREATE", {"id": "4", "guild_id": "1", "parent_id": "2", "name": "q"})
    assert thread["thread_metadata"]["archived"] is False and thread["owner_id"] == "0"
