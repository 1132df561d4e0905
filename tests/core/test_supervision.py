"""The core's connection supervision: state, health, giving up, and where people see it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import connection_checks, main
from bot.config import parse_config
from bot.errors import ConfigError
from bot.richtext import to_plain
from bot.store import open_database
from bot.supervision import CONNECTED, CONNECTING, DISCONNECTED, Connections, SupervisionPolicy
from testing.clock import ManualClock
from tests.core.conftest import GDL, Harness

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL


def test_the_supervision_table_is_validated_and_errors_name_the_key(tmp_path: Path) -> None:
    config = parse_config({"supervision": {"grace": 5, "give_up_after": 0}}, base=tmp_path)
    assert config.supervision == SupervisionPolicy(grace=5.0, give_up_after=0.0)
    for table, message in [
        ({"grace": "soon"}, "supervision.grace: expected a number, got 'soon'"),
        ({"grace": -1}, "supervision.grace: must be zero or more seconds"),
        ({"backoff_base": 0}, "supervision.backoff_base: must be more than 0"),
        ({"backoff_base": 10, "backoff_max": 1}, "supervision.backoff_max: must be at least"),
        ({"give_up": 3}, "supervision.give_up: unknown key"),
        ({"give_up_after": True}, "supervision.give_up_after: expected a number"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_config({"supervision": table}, base=tmp_path)


def test_backoff_doubles_with_jitter_up_to_the_ceiling() -> None:
    policy = SupervisionPolicy(backoff_base=1.0, backoff_max=8.0)
    for failures, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0)]:
        delays = {policy.delay(failures) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter: replicas do not reconnect in lockstep


def test_health_turns_503_only_after_the_grace_period() -> None:
    clock = ManualClock()
    connections = Connections(SupervisionPolicy(grace=30), clock=clock)
    discord = connections.supervisor("discord")
    discord.connecting()
    discord.connected()
    assert connections.health()["ok"]
    clock.now += 100
    discord.disconnected(ConnectionResetError("reset by peer"))
    clock.now += 29
    assert connections.healthy()
    clock.now += 2
    health = connections.health()
    assert not health["ok"]
    assert health["adapters"]["discord"] == {
        "state": DISCONNECTED,
        "since": 1100.0,
        "down_seconds": 31.0,
        "healthy": False,
        "last_error": "ConnectionResetError: reset by peer",
        "reconnects": 0,
    }
    discord.connecting()  # an attempt does not end the outage
    assert connections.snapshot()[0].since == 1100.0 and connections.snapshot()[0].state == CONNECTING
    discord.connected()
    assert connections.health()["ok"]
    assert connections.snapshot()[0].reconnects == 1


async def test_the_watch_gives_up_with_the_reason() -> None:
    clock = ManualClock()
    connections = Connections(SupervisionPolicy(give_up_after=60), clock=clock)
    slack = connections.supervisor("slack")
    slack.connected()
    slack.disconnected("invalid_auth")
    watch = asyncio.create_task(connections.watch(interval=0.01))
    clock.now += 61
    reason = await asyncio.wait_for(connections.wait_fatal(), 5)
    await watch
    assert reason == "slack: no connection for 61s: invalid_auth"
    assert not connections.health()["ok"]


async def test_reconnect_retries_until_an_attempt_succeeds() -> None:
    connections = Connections(SupervisionPolicy(backoff_base=0.001, backoff_max=0.002))
    sup = connections.supervisor("discord")
    sup.connected()
    sup.disconnected("gone")
    attempts: list[int] = []

    async def attempt() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError(f"refused {len(attempts)}")
        sup.connected()

    await sup.reconnect(attempt)
    assert len(attempts) == 3
    (status,) = connections.snapshot()
    assert status.state == CONNECTED and status.last_error == "OSError: refused 2" and status.reconnects == 1


async def test_status_shows_each_connection_in_the_callers_language(harness: Harness) -> None:
    sup = harness.agora.connections.supervisor("discord")
    sup.connected()
    sup.disconnected("gone")
    sup.connected()
    harness.agora.connections.supervisor("slack").disconnected("invalid_auth")
    status = to_plain((await harness.command(GDL, "/agora status", locale="es")).text)
    assert "Conexión con Discord: escuchando (se reconectó 1 veces)" in status
    assert "Conexión con Slack: desconectado hace 0 min, reconectando" in status
    english = to_plain((await harness.command(GDL, "/agora status", locale="en")).text)
    assert "Connection to Discord: listening (reconnected 1 times)" in english
    sup.standby()  # another replica holds the gateway now
    english = to_plain((await harness.command(GDL, "/agora status", locale="en")).text)
    assert "Connection to Discord: on standby: another replica holds this connection" in english
    portuguese = to_plain((await harness.command(GDL, "/agora status", locale="pt-BR")).text)
    assert "em espera: outra réplica mantém esta conexão" in portuguese


def test_doctor_reports_what_the_running_bot_recorded(tmp_path: Path) -> None:
    db = open_database(tmp_path / "agora.db")
    connections = Connections(db=db)
    connections.supervisor("discord").connected()
    connections.supervisor("slack").disconnected("invalid_auth")
    checks = {c.name: c for c in connection_checks(db)}  # this process is alive: the bot "runs"
    assert checks["discord connection"].ok and "connected since" in checks["discord connection"].detail
    assert not checks["slack connection"].ok and "last error: invalid_auth" in checks["slack connection"].detail
    connections.supervisor("discord").standby()  # a standby replica is fine, not a fault
    assert {c.name: c for c in connection_checks(db)}["discord connection"].ok
    standby = Connections(db=db)  # another replica on the same database, on standby: the holder's row stays
    standby.supervisor("discord").standby()
    assert "connected since" in {c.name: c for c in connection_checks(db)}["discord connection"].detail
    db.execute("update connection_state set pid = ?", [_dead_pid()])
    checks = {c.name: c for c in connection_checks(db)}
    assert checks["slack connection"].ok and "agora run is not running" in checks["slack connection"].detail
    connections.stopped()


def test_doctor_prints_the_connection_lines(tmp_path: Path) -> None:
    database = tmp_path / "doctor.db"
    config = tmp_path / "config.toml"
    config.write_text("[adapters.web]\nport = 0\n")
    connections = Connections(db=open_database(database))
    connections.supervisor("discord").disconnected("HTTP 503")
    result = CliRunner().invoke(main, ["doctor", "--config", str(config)], env={"AGORA_DB": str(database)})
    assert "[FIX] discord connection: disconnected since" in result.output
    assert "last error: HTTP 503" in result.output


def _dead_pid() -> int:
    pid = 2**22 - 1
    while pid > 1:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1
    raise AssertionError("no free pid")
