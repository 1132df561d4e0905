"""Kill the bot with SIGKILL in the middle of a burst; after a restart every copy
is delivered exactly once and in order per channel."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from testing.polling import database_settled, wait_until

CITIES = [("boston", "Boston", "en"), ("guadalajara", "Guadalajara", "es"), ("recife", "Recife", "pt")]
BURST = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, port: int) -> None:
    channels = "\n".join(
        f'[[networks.channels]]\nref = "web:demo/{cid}"\ncity = "{city}"\nlang = "{lang}"\n'
        for cid, city, lang in CITIES
    )
    path.write_text(
        f"""
[agora]
database = "crash.db"
[translation]
backend = "none"
[adapters.web]
port = {port}
pace = 0.1  # deliveries run while asks are tagged off the loop: slow enough for the kill to land mid-burst
[[networks]]
name = "demo"
{channels}
"""
    )


def api(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def start(config: Path, port: int, log: Path, *flags: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config), *flags],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )

    def healthy() -> bool:
        try:
            api(port, "GET", "/api/health")
            return True
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(log.read_text()) from None
            return False

    try:
        wait_until(healthy, "agora to start")
    except AssertionError:
        proc.kill()
        raise AssertionError("agora did not start: " + log.read_text()) from None
    return proc


def delivered(port: int) -> dict[str, list[int]]:
    return {
        cid: [m["message_id"] for m in api(port, "GET", f"/api/channels/{cid}/messages") if m["is_copy"]]
        for cid, _, _ in CITIES
    }


@pytest.mark.slow
def test_sigkill_mid_burst_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    write_config(config, port)
    log = tmp_path / "agora.log"
    proc = start(config, port, log)
    try:
        for i in range(BURST):
            cid = CITIES[i % 3][0]
            reply = api(port, "POST", f"/api/channels/{cid}/messages", {"user": "Ana", "text": f"/ask question {i}"})
            assert "#" in reply["reply"]
        # Wait until delivery is under way but not finished, then kill without warning.
        wait_until(lambda: sum(map(len, delivered(port).values())) >= 10, "delivery to get under way")
        before_kill = sum(map(len, delivered(port).values()))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert 0 < before_kill < 3 * BURST, "the kill must land in the middle of the burst"

        proc = start(config, port, log)
        wait_until(lambda: all(len(ids) >= BURST for ids in delivered(port).values()), "every copy", 60)
        # Count only once nothing is pending or being sent: a duplicate would have been posted by then.
        wait_until(lambda: database_settled(tmp_path / "crash.db"), "the outbox to settle")
        got = delivered(port)
        for cid, ids in got.items():
            assert ids == list(range(1, BURST + 1)), f"{cid}: {ids}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0, log.read_text()[-2000:]
