"""The fake Discord as a separate process keeps its records when the bot dies (for the fault suite)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


async def test_the_fake_runs_standalone_and_writes_its_records(tmp_path: Path) -> None:
    state = tmp_path / "records.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testing.discord_server",
            "--port",
            "0",
            "--state",
            str(state),
            "--channel",
            "lima",
            "--channel",
            "recife",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        lima = info["channels"]["lima"]
        headers = {"Authorization": f"Bot {info['token']}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{info['api_base']}/channels/{lima}/webhooks", json={"name": "Agora"}, headers=headers
            ) as response:
                hook = await response.json()
            async with http.post(
                f"{info['api_base']}/webhooks/{hook['id']}/{hook['token']}?wait=true",
                json={"content": "hola", "username": "Ana (Boston)"},
            ) as response:
                assert response.status == 200
            base = info["api_base"].removesuffix("/api/v10")
            async with http.post(f"{base}/_fake/fault", json={"route": r"POST /webhooks/.*", "retry_after": 3}):
                pass
            async with http.post(
                f"{info['api_base']}/webhooks/{hook['id']}/{hook['token']}", json={"content": "again"}
            ) as response:
                assert response.status == 429 and response.headers["Content-Type"] == "application/json"
                assert (await response.json())["retry_after"] == 3
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    records = json.loads(state.read_text(encoding="utf-8"))["records"]
    (post,) = records[lima]
    assert post["content"] == "hola" and post["username"] == "Ana (Boston)"
