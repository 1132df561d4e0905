"""Operations on the real Agora and web adapter over HTTP: heavy reads off the loop, /ready, /metrics."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.web import create as create_web
from bot.app import Agora
from bot.events import ChannelRef
from bot.metrics import NoMetrics
from bot.operations import Operations
from bot.store import PARKED, Store, open_database
from bot.supervision import CONNECTED, DISCONNECTED, STANDBY, Connections
from bot.testing import CollectingAdapter
from testing.polling import drain, eventually
from testing.translator import MarkingTranslator
from tests.web.conftest import web_config


class SwitchableAdapter(CollectingAdapter):
    """Another platform, whose connection the test reports down and back up through supervision."""

    def __init__(self) -> None:
        super().__init__("fake")
        self.connections: Connections | None = None

    def set_up(self, value: bool) -> None:
        assert self.connections is not None
        self.connections.report("fake", CONNECTED if value else DISCONNECTED, "" if value else "test: gateway closed")


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Agora, aiohttp.ClientSession, SwitchableAdapter]]:
    config = web_config(tmp_path / "agora.db")
    agora = Agora(config, adapters={}, translator=MarkingTranslator())
    other = SwitchableAdapter()
    agora.adapters["web"] = create_web(config.adapters["web"], agora.adapter_context({}))
    agora.adapters["fake"] = other
    other.connections = agora.connections
    await agora.start()
    try:
        url: str = getattr(agora.adapters["web"], "url")  # noqa: B009 - not on the Adapter protocol
        async with aiohttp.ClientSession(base_url=url) as session:
            yield agora, session, other
    finally:
        await agora.stop(grace=1)


async def get_json(session: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with session.get(path) as resp:
        return resp.status, json.loads(await resp.text())


async def command(session: aiohttp.ClientSession, text: str) -> str:
    async with session.post("/api/channels/boston/messages", json={"user": "Ana", "text": text}) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        return str(body["reply"])


@pytest.mark.parametrize("text", ["/agora topics 30", "/agora search housing"])
async def test_a_report_or_search_waiting_on_the_reads_thread_never_holds_up_other_requests(
    running: tuple[Agora, aiohttp.ClientSession, SwitchableAdapter], text: str
) -> None:
    agora, session, _ = running
    await command(session, "/ask How do you fund affordable housing near transit?")
    await drain(agora.outbox)
    # Hold the reads thread: any report or search now waits behind this, off the loop.
    gate = threading.Event()
    reader_threads: list[str] = []

    def hold(_store: Any) -> None:
        reader_threads.append(threading.current_thread().name)
        assert gate.wait(20)

    blocker = asyncio.create_task(agora.reads.run(hold))
    heavy: asyncio.Task[str] = asyncio.create_task(command(session, text))
    try:
        await eventually(lambda: agora.reads.queued == 2, "the command to queue behind the held read")
        status, channels = await get_json(session, "/api/channels")
        assert status == 200 and [c["id"] for c in channels] == ["boston", "guadalajara", "recife"]
        assert not heavy.done()  # the report/search is still waiting on the reads thread, the loop is free
    finally:
        gate.set()
    reply = await heavy
    await blocker
    assert reader_threads[0].startswith("agora-reads") and threading.current_thread().name != reader_threads[0]
    assert ("#1" in reply) if "search" in text else ("30" in reply)


async def test_ready_is_503_naming_what_is_down_and_200_when_everything_is_up(
    running: tuple[Agora, aiohttp.ClientSession, SwitchableAdapter],
) -> None:
    _, session, other = running
    status, body = await get_json(session, "/ready")
    assert status == 200
    assert body == {
        "ready": True,
        "database": "up",
        "connections": {"fake": "up", "web": "up"},
        "down": [],
        "standby": [],
    }
    other.set_up(False)
    status, body = await get_json(session, "/ready")
    assert status == 503
    assert body["ready"] is False and body["down"] == ["fake"] and body["connections"]["fake"] == "down"
    other.set_up(True)
    assert (await get_json(session, "/ready"))[0] == 200
    assert other.connections is not None
    other.connections.report("fake", STANDBY)  # another replica holds its connection: ready, and says so
    status, body = await get_json(session, "/ready")
    assert status == 200 and body["standby"] == ["fake"] and body["connections"]["fake"] == "up"
    status, body = await get_json(session, "/health")  # supervision's liveness, next to /ready
    assert status == 200 and body["ok"] is True


def test_not_ready_when_the_database_does_not_answer(tmp_path: Path) -> None:
    db = open_database(tmp_path / "gone.db")
    operations = Operations(Store(db), NoMetrics(), lambda: {"web": True})
    assert operations.readiness().ready
    db.close()
    readiness = operations.readiness()
    assert not readiness.ready and readiness.as_json()["down"] == ["database"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_expose_the_named_series_after_a_relay(
    running: tuple[Agora, aiohttp.ClientSession, SwitchableAdapter],
) -> None:
    agora, session, other = running
    await command(session, "/ask How do you fund affordable housing near transit?")
    await drain(agora.outbox)
    # A parked delivery shows in the per-platform gauge.
    row = agora.store.enqueue(ChannelRef("web", "demo", "recife"), 1, "send")
    agora.store.set_delivery(row, PARKED, error="test: refused")
    other.set_up(False)
    async with session.get("/metrics") as resp:
        assert resp.status == 200 and resp.content_type == "text/plain"
        found = samples(await resp.text())
    assert found[("agora_messages_relayed_total", (("platform", "web"),))] == 1.0
    posted = agora.db.execute("select count(*) from outbox where state = 'done'").fetchone()[0]
    assert posted >= 2 and found[("agora_delivery_seconds_count", (("platform", "web"),))] == posted
    assert found[("agora_translation_seconds_count", (("engine", "marking"),))] >= 2.0
    assert found[("agora_deliveries", (("platform", "web"), ("state", "parked")))] == 1.0
    assert found[("agora_adapter_up", (("adapter", "web"),))] == 1.0
    assert found[("agora_adapter_up", (("adapter", "fake"),))] == 0.0
    assert found[("agora_database_up", ())] == 1.0
    assert found[("agora_adapter_standby", (("adapter", "fake"),))] == 0.0
    assert other.connections is not None
    other.connections.report("fake", STANDBY)
    async with session.get("/metrics") as resp:
        found = samples(await resp.text())
    assert found[("agora_adapter_standby", (("adapter", "fake"),))] == 1.0
    assert found[("agora_adapter_up", (("adapter", "fake"),))] == 1.0


async def test_probes_answer_any_host_and_metrics_only_this_server(
    running: tuple[Agora, aiohttp.ClientSession, SwitchableAdapter],
) -> None:
    _, session, _ = running
    for path, status in (("/health", 200), ("/ready", 200), ("/metrics", 421)):
        async with session.get(path, headers={"Host": "evil.example:80"}) as resp:
            assert resp.status == status, path
