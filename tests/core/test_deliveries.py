"""Delivery the asker can see: per-destination states, one notice per parked copy, manager retry."""

from __future__ import annotations

import pytest

from bot.errors import DeliveryError
from bot.events import Reply
from bot.richtext import to_plain
from testing.polling import eventually
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


async def ask(h: Harness, text: str = "How do you count people sleeping outside?") -> int:
    reply = await h.command(BOSTON, f"/ask {text}")
    await h.drain()
    return int(to_plain(reply.text).split("#")[1].split()[0])


async def test_status_lists_every_destination_as_delivered(harness: Harness) -> None:
    msg_id = await ask(harness)
    reply = await harness.command(GDL, f"/agora status {msg_id}")
    lines = to_plain(reply.text).splitlines()
    assert lines[0] == f"Entrega de #{msg_id} (desde Boston):"
    assert sorted(lines[1:]) == ["✓ Boston: entregado", "✓ Guadalajara: entregado", "✓ Recife: entregado"]
    states = {d["city"]: d["state"] for d in reply.data["deliveries"]}
    assert states == {"Boston": "delivered", "Guadalajara": "delivered", "Recife": "delivered"}


async def test_a_parked_copy_is_reported_once_to_the_asker_and_a_manager_retries_it(harness: Harness) -> None:
    harness.adapter.fail_next(GDL, DeliveryError("channel_not_found", retriable=False))
    msg_id = await ask(harness)
    assert harness.adapter.texts(GDL) == []

    # One notice in the asker's channel, in its language, with the city and the reason.
    notices = [t for t in harness.adapter.texts(BOSTON) if t.startswith("⚠️")]
    assert notices == [
        f"⚠️ Agora could not deliver #{msg_id} to Guadalajara: channel_not_found. "
        f"A channel manager can try again with /agora retry {msg_id}."
    ]
    status = await harness.command(BOSTON, f"/agora status #{msg_id}")
    text = to_plain(status.text)
    assert "✗ Guadalajara: not delivered after 1 attempts (channel_not_found)" in text
    assert "✓ Recife: delivered" in text
    assert f"/agora retry {msg_id}" in text

    refused = await harness.command(BOSTON, f"/agora retry {msg_id}", can_manage=False)
    assert to_plain(refused.text) == "Only people who can manage this channel may do that."
    assert harness.adapter.texts(GDL) == []

    retried = await harness.command(BOSTON, f"/agora retry {msg_id}")
    assert to_plain(retried.text) == f"Trying again to deliver #{msg_id}; stuck copies: 1."
    await harness.drain()
    assert harness.adapter.texts(GDL) == ["[es] How do you count people sleeping outside?"]
    after = await harness.command(BOSTON, f"/agora status {msg_id}")
    assert {d["state"] for d in after.data["deliveries"]} == {"delivered"}
    again = await harness.command(BOSTON, f"/agora retry {msg_id}")
    assert to_plain(again.text) == f"#{msg_id} has no stuck copies to retry."
    # Still exactly one notice.
    assert len([t for t in harness.adapter.texts(BOSTON) if t.startswith("⚠️")]) == 1


async def test_a_waiting_copy_says_why(harness: Harness) -> None:
    harness.adapter.fail_next(RECIFE, DeliveryError("ratelimited", retriable=True, retry_after=30))
    reply = await harness.command(BOSTON, "/ask Which bus routes did you cut?")
    msg_id = int(to_plain(reply.text).split("#")[1].split()[0])

    async def waiting_status() -> Reply | None:
        status = await harness.command(RECIFE, f"/agora status {msg_id}")
        return status if "aguardando (ratelimited)" in to_plain(status.text) else None

    status = await eventually(waiting_status, "Recife's copy to say it waits")
    assert "… Recife: aguardando (ratelimited)" in to_plain(status.text)
    recife = next(d for d in status.data["deliveries"] if d["city"] == "Recife")
    assert recife["state"] == "waiting" and recife["next_at"] is not None


async def test_status_of_an_unknown_or_foreign_message_changes_nothing(harness: Harness) -> None:
    reply = await harness.command(BOSTON, "/agora status 999")
    assert to_plain(reply.text) == "I can't find message 999 in this network."
    reply = await harness.command(BOSTON, "/agora retry abc")
    assert to_plain(reply.text) == "I can't find message abc in this network."
