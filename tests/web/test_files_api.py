"""Files on the playground: posted with a message, uploaded with every copy, served by Agora itself."""

from __future__ import annotations

import base64
import hashlib

from tests.web.test_api import Playground, web  # noqa: F401 - the fixture

PDF = b"%PDF-1.7 plan de vivienda " + bytes(range(256)) * 20
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40


def attach(name: str, data: bytes, mime: str) -> dict[str, str]:
    return {"name": name, "data": base64.b64encode(data).decode(), "type": mime}


async def test_a_file_reaches_every_city_with_the_same_bytes(web: Playground) -> None:  # noqa: F811
    body = {"user": "Ana", "text": "Our plan", "files": [attach("plan-vivienda-2026.pdf", PDF, "application/pdf")]}
    await web.request(
        "POST", "/api/channels/guadalajara/messages", status=200, json={"user": "x", "text": "/agora mode mirror"}
    )
    await web.request("POST", "/api/channels/guadalajara/messages", status=201, json=body)
    await web.drain()
    for cid in ("boston", "recife"):
        [copy] = [m for m in await web.messages(cid) if m["files"]]
        [f] = copy["files"]
        assert f["name"] == "plan-vivienda-2026.pdf"  # never translated
        assert f["size"] == len(PDF) and f["type"] == "application/pdf" and f["image"] is False
        assert f["url"] == f"/files/{hashlib.sha256(PDF).hexdigest()}/plan-vivienda-2026.pdf"
        async with web.session.get(f["url"]) as resp:
            assert resp.status == 200
            assert await resp.read() == PDF
            assert resp.headers["Content-Type"] == "application/octet-stream"
            assert resp.headers["Content-Disposition"] == "attachment; filename*=UTF-8''plan-vivienda-2026.pdf"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


async def test_images_show_inline_and_svg_never_does(web: Playground) -> None:  # noqa: F811
    await web.command("boston", "/agora mode mirror")
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    files = [attach("map.png", PNG, "image/png"), attach("x.svg", svg, "image/svg+xml")]
    await web.request(
        "POST", "/api/channels/boston/messages", status=201, json={"user": "Ana", "text": "", "files": files}
    )
    await web.drain()
    [copy] = await web.messages("recife")
    png, svg_file = copy["files"]
    assert png["image"] is True and svg_file["image"] is False
    async with web.session.get(png["url"]) as resp:
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.headers["Content-Disposition"].startswith("inline;")
    async with web.session.get(svg_file["url"]) as resp:
        assert resp.headers["Content-Type"] == "application/octet-stream"
        assert resp.headers["Content-Disposition"].startswith("attachment;")


async def test_only_files_a_visible_message_carries_are_served(web: Playground) -> None:  # noqa: F811
    await web.command("boston", "/agora mode mirror")
    body = {"user": "Ana", "text": "draft", "files": [attach("draft.pdf", PDF, "application/pdf")]}
    mid = (await web.request("POST", "/api/channels/boston/messages", status=201, json=body))["id"]
    await web.drain()
    [copy] = await web.messages("recife")
    url = copy["files"][0]["url"]
    async with web.session.get(url) as resp:
        assert resp.status == 200
    for bad in ("/files/" + "0" * 64 + "/x", "/files/..%2F..%2Fagora.db/x", "/files/abc/x"):
        async with web.session.get(bad) as resp:
            assert resp.status == 404, bad
    await web.request("DELETE", f"/api/channels/boston/messages/{mid}", status=200)
    await web.drain()
    async with web.session.get(url) as resp:
        assert resp.status == 404


async def test_bad_files_are_refused_and_change_nothing(web: Playground) -> None:  # noqa: F811
    before = web.dump()
    cases = [
        {"user": "Ana", "text": "x", "files": "plan.pdf"},
        {"user": "Ana", "text": "x", "files": [{"name": "a.pdf"}]},
        {"user": "Ana", "text": "x", "files": [{"name": "a.pdf", "data": "not base64!"}]},
        {"user": "Ana", "text": "x", "files": [attach(f"{i}.txt", b"x", "text/plain") for i in range(11)]},
    ]
    for body in cases:
        answer = await web.request("POST", "/api/channels/boston/messages", status=400, json=body)
        assert answer["error"]
    assert web.dump() == before
