"""With an offline engine, relaying, translating, tagging, reporting and searching
open no connection and resolve no name outside 127.0.0.1."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Agora
from bot.config import parse_config
from testing.polling import drain

CITIES = [
    ("boston", "Boston", "en", "US"),
    ("guadalajara", "Guadalajara", "es", "MX"),
    ("recife", "Recife", "pt", "BR"),
]


@pytest.fixture
def traffic(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """Record every connect and every name lookup, on top of the suite's loopback guard."""
    seen: dict[str, list[Any]] = {"connect": [], "lookup": []}
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def recording_connect(self: socket.socket, address: Any) -> None:
        seen["connect"].append(address)
        connect(self, address)

    def recording_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen["lookup"].append(host)
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    yield seen


def config(db: Path, translation: dict[str, Any]) -> Any:
    channels = [{"ref": f"web:demo/{cid}", "city": city, "lang": lang, "country": cc} for cid, city, lang, cc in CITIES]
    raw = {
        "agora": {"database": str(db)},
        "translation": translation,
        "adapters": {"web": {"host": "127.0.0.1", "port": 0}},
        "networks": [{"name": "demo", "channels": channels}],
    }
    return parse_config(raw, base=db.parent)


def engines() -> list[Any]:
    apertium = pytest.mark.skipif(shutil.which("apertium") is None, reason="Debian apertium packages not installed")
    return [pytest.param("argos", id="argos"), pytest.param("apertium", id="apertium", marks=apertium)]


@pytest.mark.parametrize("engine", engines())
async def test_the_whole_pipeline_stays_on_this_machine(
    engine: str, argos_dir: Path, tmp_path: Path, traffic: dict[str, list[Any]]
) -> None:
    translation: dict[str, Any] = {"backend": engine}
    if engine == "argos":
        translation["argos"] = {"packages_dir": str(argos_dir)}
    agora = Agora(config(tmp_path / "agora.db", translation))
    assert agora.translator.name == engine
    await agora.start()
    try:
        url: str = getattr(agora.adapters["web"], "url")  # noqa: B009
        async with aiohttp.ClientSession(base_url=url) as http:
            async with http.post(
                "/api/channels/boston/messages",
                json={"user": "Ana", "text": "/ask hello world, how does the mayor fund homeless shelters?"},
            ) as r:
                assert r.status == 200
            await drain(agora.outbox)
            async with http.get("/api/channels/guadalajara/messages") as r:
                (copy,) = await r.json()
            assert copy["translated"] and copy["topics"] == ["homelessness"]
            if engine == "argos":
                assert copy["text"].startswith("hola mundo")
            async with http.post(
                "/api/channels/guadalajara/messages",
                json={"user": "Luis", "text": "Hola, usamos albergues temporales.", "thread_id": copy["id"]},
            ) as r:
                assert r.status == 201
            await drain(agora.outbox)
            for command in ("/agora topics 7", "/agora search albergues", "/agora status"):
                async with http.post("/api/channels/recife/messages", json={"user": "Rita", "text": command}) as r:
                    assert r.status == 200 and (await r.json())["reply"]
    finally:
        await agora.stop(grace=1)
    assert traffic["connect"], "the test must have used the network at all (its own HTTP calls)"
    for address in traffic["connect"]:
        assert ipaddress.ip_address(address[0]).is_loopback, address
    for host in traffic["lookup"]:
        assert host in ("127.0.0.1", "localhost", "::1", None), host
