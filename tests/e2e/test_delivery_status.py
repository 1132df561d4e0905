"""A copy Slack refuses is parked, the asking city hears about it once, and a manager retries it.

The same three cities as the files test (Boston on the fake Slack, Lima on the fake Discord, Recife on
the web playground), driven through the real adapters: Recife asks over the web API, Slack refuses
Boston's copy for good, and Recife's channel gets one notice in Portuguese; ``/agora status`` and the
deliveries endpoint show where each copy is; after ``/agora retry`` the copy reaches Slack.
"""

from __future__ import annotations

from typing import Any

from bot.richtext import from_json, to_plain
from tests.e2e.test_files_platforms import BOSTON, Cities, cities  # noqa: F401 - the fixture


async def web(c: Cities, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    assert c.app is not None and c.http is not None
    url = str(c.app.adapters["web"].url).rstrip("/")  # type: ignore[attr-defined]
    async with c.http.request(method, url + path, json=body) as resp:
        assert resp.status in (200, 201), await resp.text()
        return await resp.json()


async def test_a_parked_copy_is_reported_to_the_asker_and_retried_by_a_manager(cities: Cities) -> None:  # noqa: F811
    await cities.start()
    cities.slack.fail("chat.postMessage", "error", error="channel_not_found")
    asked = await web(
        cities,
        "POST",
        "/api/channels/recife/messages",
        {"user": "Rita", "text": "/ask Como vocês contam a população de rua?"},
    )
    number = int(asked["reply"].split("#")[1].split()[0])

    async def recife_notices() -> list[str]:
        shown = [to_plain(from_json(m["segments"])) for m in await cities.recife()]
        return [text for text in shown if text.startswith("⚠️")]

    (notice,) = await cities.until(recife_notices, "the parked notice in Recife")
    assert notice == (
        f"⚠️ O Agora não conseguiu entregar #{number} a Boston: slack chat.postMessage: channel_not_found. "
        f"Um gestor do canal pode tentar de novo com /agora retry {number}."
    )
    assert cities.lima_posts(), "Lima's copy still went out"
    states = await web(cities, "GET", f"/api/channels/recife/deliveries/{number}")
    by_city = {d["city"]: (d["platform"], d["state"], d["reason"]) for d in states["deliveries"]}
    assert by_city["Boston"] == ("slack", "parked", "slack chat.postMessage: channel_not_found")
    assert by_city["Lima"][:2] == ("discord", "delivered")

    retried = await web(
        cities, "POST", "/api/channels/recife/messages", {"user": "Rita", "text": f"/agora retry {number}"}
    )
    assert "cópias travadas: 1" in retried["reply"]

    def boston_copy() -> list[dict[str, Any]]:
        return [r for r in cities.slack.records_for(BOSTON, "post") if "população de rua" in str(r.get("text", ""))]

    await cities.until(boston_copy, "the retried copy in Boston")
    after = await web(cities, "GET", f"/api/channels/recife/deliveries/{number}")
    assert {d["state"] for d in after["deliveries"]} == {"delivered"}
    assert len(await recife_notices()) == 1
