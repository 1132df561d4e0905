"""The playground's request policy (issue 12), over real HTTP against the real web adapter.

Cross-site bodies, foreign origins and foreign Host names are refused and
change nothing; every answer carries the security headers; off loopback the
API needs its token, or Agora does not start. The browser-level check of the
same rules is in test_cross_site.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Agora
from bot.config import parse_config
from bot.errors import ConfigError
from testing.translator import MarkingTranslator
from tests.database import dump
from tests.web.conftest import CITIES, web_config

TOKEN = "s3cret-playground-token-0123456789"
ASK = {"user": "Mayor", "text": "/ask Will you switch to mirror mode?"}
MIRROR = {"user": "Mayor", "text": "/agora mode mirror"}
DEMO_CHANNELS = [{"ref": f"web:demo/{cid}", "city": city, "lang": lang, "country": c} for cid, city, lang, c in CITIES]


class Site:
    """A running Agora with its web adapter, and raw HTTP to it."""

    def __init__(self, agora: Agora, session: aiohttp.ClientSession, port: int) -> None:
        self.agora = agora
        self.session = session
        self.port = port

    def dump(self) -> str:
        return dump(self.agora.db)

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Mapping[str, str]]:
        async with self.session.request(method, path, **kwargs) as resp:
            text = await resp.text()
            body = json.loads(text) if resp.content_type == "application/json" else text
            return resp.status, body, resp.headers


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., Any]:
    started: list[Agora] = []
    sessions: list[aiohttp.ClientSession] = []

    async def make(environ: Mapping[str, str] | None = None, **web: Any) -> Site:
        config = web_config(tmp_path / "agora.db")
        if web:
            config = parse_config(
                {
                    "agora": {"database": str(tmp_path / "agora.db")},
                    "adapters": {"web": {"host": "127.0.0.1", "port": 0, **web}},
                    "networks": [{"name": "demo", "channels": DEMO_CHANNELS}],
                },
                base=tmp_path,
                environ={},
            )
        agora = Agora(config, translator=MarkingTranslator(), environ=environ or {})
        await agora.start()
        started.append(agora)
        url: str = getattr(agora.adapters["web"], "url")  # noqa: B009 - not on the Adapter protocol
        port = int(url.rsplit(":", 1)[1].strip("/"))
        session = aiohttp.ClientSession(base_url=url)
        sessions.append(session)
        return Site(agora, session, port)

    make.started = started  # type: ignore[attr-defined]
    make.sessions = sessions  # type: ignore[attr-defined]
    return make


@pytest.fixture
async def site(make_site: Callable[..., Any]) -> AsyncIterator[Site]:
    s: Site = await make_site()
    yield s
    await _close(make_site)


async def _close(make_site: Callable[..., Any]) -> None:
    for session in make_site.sessions:  # type: ignore[attr-defined]
        await session.close()
    for agora in make_site.started:  # type: ignore[attr-defined]
        await agora.stop(grace=1)


# ------------------------------------------------------------------ cross-site bodies and origins

SIMPLE_BODIES = [
    ("text/plain", {"data": json.dumps(ASK), "headers": {"Content-Type": "text/plain"}}),
    ("text/plain mirror", {"data": json.dumps(MIRROR), "headers": {"Content-Type": "text/plain;charset=UTF-8"}}),
    ("form-encoded", {"data": {"user": "Mayor", "text": "/agora mode mirror"}}),
    ("multipart", {"data": aiohttp.FormData({"user": "Mayor", "text": "/ask hi"}, default_to_multipart=True)}),
    ("no content type", {"data": json.dumps(ASK).encode(), "skip_auto_headers": ["Content-Type"]}),
]


@pytest.mark.parametrize("kwargs", [c[1] for c in SIMPLE_BODIES], ids=[c[0] for c in SIMPLE_BODIES])
async def test_bodies_a_cross_site_form_can_send_are_refused_with_415(site: Site, kwargs: dict[str, Any]) -> None:
    before = site.dump()
    status, body, _ = await site.call("POST", "/api/channels/boston/messages", **kwargs)
    assert status == 415 and "application/json" in body["error"]
    status, body, _ = await site.call("PATCH", "/api/channels/boston/messages/1", **kwargs)
    assert status == 415
    assert site.dump() == before
    assert site.agora.store.channel(site.agora.store.all_channels()[0].ref).mode == "questions"  # type: ignore[union-attr]


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "http://localhost.evil:80"])
async def test_a_foreign_origin_is_refused_with_403_and_changes_nothing(site: Site, origin: str) -> None:
    mid = (await site.call("POST", "/api/channels/boston/messages", json={"user": "Ana", "text": "mine"}))[1]["id"]
    before = site.dump()
    for method, path, body in [
        ("POST", "/api/channels/boston/messages", ASK),
        ("POST", "/api/channels/boston/messages", MIRROR),
        ("PATCH", f"/api/channels/boston/messages/{mid}", {"text": "hijacked"}),
        ("DELETE", f"/api/channels/boston/messages/{mid}", None),
    ]:
        status, answer, _ = await site.call(method, path, json=body, headers={"Origin": origin})
        assert status == 403, (method, answer)
        assert "other sites" in answer["error"]
    assert site.dump() == before


async def test_the_pages_own_origin_and_scripts_without_origin_still_post(site: Site) -> None:
    own = f"http://127.0.0.1:{site.port}"
    status, answer, _ = await site.call(
        "POST", "/api/channels/boston/messages", json={"user": "Ana", "text": "hello"}, headers={"Origin": own}
    )
    assert status == 201, answer
    status, answer, _ = await site.call("POST", "/api/channels/boston/messages", json={"user": "Ana", "text": "hi"})
    assert status == 201, answer
    status, answer, _ = await site.call(
        "DELETE", f"/api/channels/boston/messages/{answer['id']}", headers={"Origin": own}
    )
    assert status == 200, answer


# ------------------------------------------------------------------ Host (DNS rebinding)


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:{port}", "127.0.0.1:1", "localhost:{other}", "10.0.0.5:{port}", ""]
)
async def test_a_foreign_host_name_gets_421_and_reads_nothing(site: Site, host: str) -> None:
    header = host.format(port=site.port, other=site.port + 1)
    for path in ("/api/channels", "/api/channels/boston/messages", "/", "/static/app.js"):
        status, answer, headers = await site.call("GET", path, headers={"Host": header})
        assert status == 421, (path, answer)
        assert "boston" not in json.dumps(answer).lower()
        assert headers["X-Content-Type-Options"] == "nosniff"
    status, answer, _ = await site.call(
        "POST", "/api/channels/boston/messages", json={"user": "Ana", "text": "/agora status"}, headers={"Host": header}
    )
    assert status == 421 and "join" not in json.dumps(answer).lower()


async def test_health_probes_answer_any_host_name_but_nothing_else_does(site: Site) -> None:
    """GET /health and /ready (the discord branch's operations routes) are probed by pod or host address."""
    for path in ("/health", "/ready"):
        status, _, _ = await site.call("GET", path, headers={"Host": "10.1.2.3:8080"})
        assert status != 421, path
    status, _, _ = await site.call("POST", "/health", headers={"Host": "10.1.2.3:8080"})
    assert status == 421


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
async def test_loopback_names_with_the_bound_port_are_served(site: Site, host: str) -> None:
    status, answer, _ = await site.call("GET", "/api/channels", headers={"Host": host.format(port=site.port)})
    assert status == 200 and len(answer) == 3


async def test_allowed_hosts_adds_names(make_site: Callable[..., Any]) -> None:
    site: Site = await make_site(allowed_hosts=["agora.example.gov"])
    try:
        status, _, _ = await site.call("GET", "/api/channels", headers={"Host": f"agora.example.gov:{site.port}"})
        assert status == 200
        status, _, _ = await site.call("GET", "/api/channels", headers={"Host": "agora.example.org"})
        assert status == 421
    finally:
        await _close(make_site)


# ------------------------------------------------------------------ headers


async def test_every_response_carries_the_security_headers(site: Site) -> None:
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/", {}),
        ("GET", "/static/app.js", {}),
        ("GET", "/static/style.css", {}),
        ("GET", "/api/channels", {}),
        ("GET", "/api/channels/atlantis/messages", {}),
        ("GET", "/nowhere", {}),
        ("POST", "/api/channels/boston/messages", {"data": "x", "headers": {"Content-Type": "text/plain"}}),
        ("POST", "/api/channels/boston/messages", {"json": {"user": 1}}),
        ("GET", "/api/channels", {"headers": {"Host": "evil.example"}}),
    ]
    for method, path, kwargs in cases:
        _, _, headers = await site.call(method, path, **kwargs)
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Frame-Options"] == "DENY"


async def test_the_page_has_no_inline_script_or_style(site: Site) -> None:
    """So the CSP (no 'unsafe-inline') leaves it working; test_browser.py drives it under that CSP."""
    _, html, _ = await site.call("GET", "/")
    assert "<script>" not in html and "<script src=" in html
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html


# ------------------------------------------------------------------ the access token


async def test_with_a_token_every_api_call_needs_it(make_site: Callable[..., Any]) -> None:
    site: Site = await make_site(environ={"AGORA_WEB_TOKEN": TOKEN})
    try:
        before = site.dump()
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": TOKEN}):
            for method, path, body in [
                ("GET", "/api/channels", None),
                ("GET", "/api/channels/boston/messages", None),
                ("POST", "/api/channels/boston/messages", ASK),
            ]:
                status, _, resp_headers = await site.call(method, path, json=body, headers=headers)
                assert status == 401, (method, path, headers)
                assert resp_headers["WWW-Authenticate"].startswith("Bearer")
        assert site.dump() == before
        good = {"Authorization": f"Bearer {TOKEN}"}
        status, channels, _ = await site.call("GET", "/api/channels", headers=good)
        assert status == 200 and len(channels) == 3
        status, _, _ = await site.call("POST", "/api/channels/boston/messages", json=ASK, headers=good)
        assert status == 200
        status, page, _ = await site.call("GET", "/")  # the page itself holds no data; its API calls need the token
        assert status == 200 and "Agora playground" in page
    finally:
        await _close(make_site)


def test_a_non_loopback_address_without_a_token_is_refused_with_the_reason(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.20", "agora.example.gov"):
        config = parse_config(
            {"agora": {"database": str(tmp_path / "a.db")}, "adapters": {"web": {"host": host, "port": 0}}},
            base=tmp_path,
            environ={},
        )
        with pytest.raises(ConfigError) as err:
            Agora(config, translator=MarkingTranslator(), environ={})
        message = str(err.value)
        assert "adapters.web.host" in message and "AGORA_WEB_TOKEN" in message and "loopback" in message, message
    with pytest.raises(ConfigError, match="at least 16 characters"):
        Agora(config, translator=MarkingTranslator(), environ={"AGORA_WEB_TOKEN": "short"})


def test_agora_run_refuses_to_start_on_0_0_0_0_without_a_token(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[agora]\ndatabase = "a.db"\n[adapters.web]\nhost = "0.0.0.0"\nport = 0\n')
    env = {k: v for k, v in os.environ.items() if k != "AGORA_WEB_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode != 0
    assert "AGORA_WEB_TOKEN" in done.stderr + done.stdout and "loopback" in done.stderr + done.stdout


# ------------------------------------------------------------------ [adapters.web] keys

BAD_KEYS: list[tuple[dict[str, Any], str]] = [
    ({"port": "8080"}, "adapters.web.port: expected a whole number"),
    ({"port": 70000}, "adapters.web.port"),
    ({"host": 127001}, "adapters.web.host: expected a string"),
    ({"pace": "fast"}, "adapters.web.pace: expected a number"),
    ({"max_text": 4000.5}, "adapters.web.max_text: expected a whole number"),
    ({"max_text": True}, "adapters.web.max_text: expected a whole number"),
    ({"allowed_hosts": "agora.example.gov"}, "adapters.web.allowed_hosts: expected a list"),
    ({"hots": "127.0.0.1"}, "adapters.web.hots: unknown key"),
    ({"token": "x"}, "adapters.web.token: unknown key"),
]


@pytest.mark.parametrize(("table", "message"), BAD_KEYS, ids=[next(iter(t)) + "-" + m[-12:] for t, m in BAD_KEYS])
def test_web_settings_errors_name_the_key(tmp_path: Path, table: dict[str, Any], message: str) -> None:
    config = parse_config(
        {"agora": {"database": str(tmp_path / "a.db")}, "adapters": {"web": table}}, base=tmp_path, environ={}
    )
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Agora(config, translator=MarkingTranslator(), environ={})
