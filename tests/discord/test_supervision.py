"""Never deaf: the real discord.py client against the fake gateway, through crashes and outages.

The gateway connection is killed the ways real servers kill it (a frame
discord.py cannot read, a refused reconnection); Agora must log it, reconnect
with backoff, catch up what was posted meanwhile and show the gap on
``GET /health`` (503 while down past the grace period, 200 after).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.discord import DiscordAdapter, create
from adapters.web import WebAdapter
from bot.events import IncomingMessage
from bot.store.sql import Database
from bot.supervision import CONNECTED, DISCONNECTED, Connections, SupervisionPolicy
from testing.polling import eventually
from tests.discord.conftest import Sink, World, context, table
from tests.discord.test_continuity import texts

ROOT = Path(__file__).resolve().parents[2]
FAST = SupervisionPolicy(grace=0.0, backoff_base=0.05, backoff_max=0.2, give_up_after=0.0)


@pytest.fixture
async def supervised(world: World, db: Database) -> AsyncIterator[tuple[DiscordAdapter, Sink, Connections, str]]:
    """A Discord adapter and the web playground sharing one connection registry; yields the health URL."""
    connections = Connections(FAST, db)
    ctx = dataclasses.replace(context(world, db), connections=connections)
    adapter = create(table(world), ctx)
    web = WebAdapter({"host": "127.0.0.1", "port": 0}, ctx)
    sink = Sink()
    await web.start(sink)
    await adapter.start(sink)
    yield adapter, sink, connections, web.url + "health"
    await adapter.stop()
    await web.stop()


async def health(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


def state(connections: Connections) -> str:
    return {s.adapter: s.state for s in connections.snapshot()}.get("discord", "")


async def test_an_unreadable_frame_ends_the_connection_and_agora_reconnects_and_catches_up(
    world: World,
    supervised: tuple[DiscordAdapter, Sink, Connections, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, sink, connections, url = supervised
    fake = world.fake
    assert (await health(url))[0] == 200
    await fake.user_message(world.boston, world.ana, "before")
    await sink.wait(1, IncomingMessage)

    fake.refuse_gateway = True  # the outage lasts until the test ends it
    with caplog.at_level(logging.ERROR, logger="adapters.discord.adapter"):
        await fake.send_raw("{this is not json")  # discord.py's poll loop raises out of Client.connect
        await fake.wait_for(lambda: state(connections) != CONNECTED)
    assert any("gateway connection ended" in r.getMessage() and r.exc_info for r in caplog.records)

    status, body = await health(url)
    assert status == 503
    assert body["adapters"]["discord"]["state"] in ("disconnected", "connecting")
    assert "JSONDecodeError" in body["adapters"]["discord"]["last_error"]

    await fake.user_message(world.boston, world.ana, "posted while Agora was deaf", dispatch=False)
    await fake.wait_for(lambda: ("GET", "/gateway", 503) in fake.calls)
    fake.refuse_gateway = False
    await sink.wait(2, IncomingMessage, timeout=20)
    await fake.user_message(world.boston, world.ana, "after")
    await sink.wait(3, IncomingMessage)
    assert texts(sink) == ["before", "posted while Agora was deaf", "after"]

    status, body = await health(url)
    assert status == 200
    assert body["adapters"]["discord"]["state"] == CONNECTED
    assert body["adapters"]["discord"]["reconnects"] == 1
    assert len(fake.identifies) + fake.resumes == 2  # a new session, or the old one resumed
    assert connections.fatal is None


async def test_a_payload_discordpy_cannot_read_costs_one_event_not_the_connection(
    world: World,
    supervised: tuple[DiscordAdapter, Sink, Connections, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, sink, connections, _ = supervised
    fake = world.fake
    bad = {"id": "not-a-snowflake", "channel_id": str(world.boston), "guild_id": str(world.guild), "content": "x"}
    with caplog.at_level(logging.ERROR, logger="adapters.discord.guard"):
        await fake.dispatch("MESSAGE_CREATE", bad)
        await fake.user_message(world.boston, world.ana, "the next one")
        await sink.wait(1, IncomingMessage)
    assert texts(sink) == ["the next one"]
    skipped = [r for r in caplog.records if "MESSAGE_CREATE" in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].exc_info is not None
    assert len(fake.identifies) == 1
    assert [s.reconnects for s in connections.snapshot()] == [0]


async def test_a_member_update_with_role_objects_is_read_as_spacebar_sends_it(
    world: World, supervised: tuple[DiscordAdapter, Sink, Connections, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, sink, _, _ = supervised
    fake = world.fake
    role = fake.add_role(world.guild, "staff")
    member = {
        "guild_id": str(world.guild),
        "user": fake.users[world.ana],
        "roles": [{"id": str(role), "name": "staff"}],  # Spacebar: objects where Discord sends ids
        "joined_at": "2026-01-01T00:00:00+00:00",
    }
    with caplog.at_level(logging.ERROR):
        await fake.dispatch("GUILD_MEMBER_UPDATE", member)
        await fake.user_message(world.boston, world.ana, "still listening")
        await sink.wait(1, IncomingMessage)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(fake.identifies) == 1


async def test_a_dropped_socket_shows_as_disconnected_then_connected(
    world: World, supervised: tuple[DiscordAdapter, Sink, Connections, str]
) -> None:
    _, sink, connections, url = supervised
    fake = world.fake
    fake.refuse_gateway = True
    await fake.drop_gateway()  # discord.py reconnects by itself (RESUME) once the gateway answers again
    await fake.wait_for(lambda: state(connections) == DISCONNECTED)
    assert (await health(url))[0] == 503
    fake.refuse_gateway = False
    await fake.wait_for(lambda: state(connections) == CONNECTED, timeout=20)
    assert (await health(url))[0] == 200
    await fake.user_message(world.boston, world.ana, "after the resume")
    await sink.wait(1, IncomingMessage)
    assert fake.resumes >= 1


async def test_agora_gives_up_when_the_gateway_stays_away(world: World, db: Database) -> None:
    connections = Connections(dataclasses.replace(FAST, give_up_after=0.3), db)
    adapter = create(table(world), dataclasses.replace(context(world, db), connections=connections))
    await adapter.start(Sink())
    watch = asyncio.create_task(connections.watch(interval=0.05))
    try:
        world.fake.refuse_gateway = True
        await world.fake.send_raw("not json either")
        reason = await asyncio.wait_for(connections.wait_fatal(), 10)
    finally:
        watch.cancel()
        await adapter.stop()
    assert reason.startswith("discord: no connection for")
    assert "JSONDecodeError" in reason or "503" in reason  # the last error says why
    row = next(iter(db.query("select * from connection_state where adapter = 'discord'")))
    assert row["state"] in ("disconnected", "connecting") and row["last_error"]


async def test_agora_run_exits_non_zero_with_the_reason_instead_of_running_deaf(tmp_path: Path) -> None:
    fake = subprocess.Popen(
        [sys.executable, "-m", "testing.discord_server", "--port", "0", "--channel", "lima"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    bot: subprocess.Popen[str] | None = None
    try:
        assert fake.stdout is not None
        info = json.loads(fake.stdout.readline())
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[agora]
database = "agora.db"
[supervision]
grace = 0
backoff_base = 0.05
backoff_max = 0.2
give_up_after = 2
[adapters.web]
port = 0
[adapters.discord]
api_base = "{info["api_base"]}"
gateway_url = "{info["gateway_url"]}"
guild_ready_timeout = 0.05
reidentify_delay = 0
connect_timeout = 0.5
[[networks]]
name = "wwc"
[[networks.channels]]
ref = "discord:{info["guild_id"]}/{info["channels"]["lima"]}"
city = "Lima"
lang = "es"
""",
            encoding="utf-8",
        )
        env = {**os.environ, "DISCORD_TOKEN": info["token"]}
        env.pop("AGORA_DB", None)
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert bot.stdout is not None
        web = ""
        for line in bot.stdout:  # wait until it runs
            if line.startswith("Agora web: "):
                web = line.removeprefix("Agora web: ").strip()
            if "Agora is running" in line:
                break
        assert (await health(web + "health"))[1]["adapters"]["discord"]["state"] == "connected"
        control = info["api_base"].removesuffix("/api/v10") + "/_fake/"
        async with aiohttp.ClientSession() as http:
            async with http.post(control + "refuse_gateway", json={"refuse": True}):
                pass
            async with http.post(control + "send_raw", json={"text": "{oops"}):
                pass

        async def unhealthy() -> dict[str, Any] | None:  # once the supervisor notices
            status, body = await health(web + "health")
            return body if status == 503 else None

        body = await eventually(unhealthy, "GET /health to answer 503")
        assert body["adapters"]["discord"]["state"] in ("disconnected", "connecting")
        output = await asyncio.to_thread(bot.communicate, timeout=60)
        assert bot.returncode == 1
        assert "a platform connection could not be restored: discord: no connection for" in output[0]
    finally:
        if bot is not None and bot.poll() is None:
            bot.kill()
            bot.wait(10)
        fake.send_signal(signal.SIGKILL)
        fake.wait(10)


async def test_a_close_code_discordpy_gives_up_on_is_reconnected_with_a_fresh_login(
    world: World, supervised: tuple[DiscordAdapter, Sink, Connections, str]
) -> None:
    _, sink, connections, url = supervised
    fake = world.fake
    await fake.drop_gateway(code=4010)  # "invalid shard": discord.py closes the client and raises out of connect
    await fake.user_message(world.boston, world.ana, "during the gap", dispatch=False)
    await sink.wait(1, IncomingMessage, timeout=20)  # caught up after the new session
    await fake.user_message(world.boston, world.ana, "live again")
    await sink.wait(2, IncomingMessage)
    assert texts(sink) == ["during the gap", "live again"]
    assert (await health(url))[0] == 200
    assert connections.snapshot()[0].reconnects == 1
    assert "4010" in connections.snapshot()[0].last_error or "ConnectionClosed" in connections.snapshot()[0].last_error
