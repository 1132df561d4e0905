"""The web API shows where each copy of a message is, with the same states as /agora status N."""

from __future__ import annotations

from tests.web.test_api import Playground, web  # noqa: F401 - the fixture


async def test_delivery_states_of_a_message_as_json(web: Playground) -> None:  # noqa: F811
    await web.ask()
    [own] = await web.roots("boston")
    number = own["message_id"]
    answer = await web.request("GET", f"/api/channels/guadalajara/deliveries/{number}", status=200)
    assert answer["message_id"] == number
    assert "✓ Recife: entregado" in answer["reply"]
    assert sorted((d["city"], d["platform"], d["state"]) for d in answer["deliveries"]) == [
        ("Boston", "web", "delivered"),
        ("Guadalajara", "web", "delivered"),
        ("Recife", "web", "delivered"),
    ]
    # The command gives the same fields in its response.
    via_command = await web.request(
        "POST", "/api/channels/recife/messages", status=200, json={"user": "Rita", "text": f"/agora status {number}"}
    )
    assert via_command["deliveries"] == answer["deliveries"]


async def test_unknown_messages_are_404(web: Playground) -> None:  # noqa: F811
    before = web.dump()
    for number in ("999", "١", "x", "9" * 40):
        await web.request("GET", f"/api/channels/boston/deliveries/{number}", status=404)
    await web.request("GET", "/api/channels/nowhere/deliveries/1", status=404)
    assert web.dump() == before
