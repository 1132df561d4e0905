"""The fake Slack runs standalone, so a crash test can kill the bot and still read what Slack got."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.richtext import to_plain
from testing.slack_server import BOT_TOKEN, FakeSlack, event_callback, message_event
from tests.slack.conftest import BOSTON, AdapterFactory


async def test_standalone_process_keeps_its_records(tmp_path: Path) -> None:
    state = tmp_path / "slack.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "testing.slack_server",
        "--state",
        str(state),
        "--channel",
        "C0LIMA:agora-lima",
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 20))
        client = AsyncWebClient(token=BOT_TOKEN, base_url=info["api_url"], retry_handlers=[])
        metadata = {"event_type": "agora_copy", "event_payload": {"nonce": "n-42"}}
        sent = await client.chat_postMessage(channel="C0LIMA", text="hola", username="Ana (Boston)", metadata=metadata)
        async with aiohttp.ClientSession() as session:
            control = info["url"] + "/_control/"
            await session.post(control + "fail", json={"method": "chat.postMessage", "kind": "ratelimited"})
            async with session.post(
                info["api_url"] + "chat.postMessage",
                json={"channel": "C0LIMA", "text": "x"},
                headers={"Authorization": f"Bearer {BOT_TOKEN}"},
            ) as resp:
                assert resp.status == 429 and resp.headers["Retry-After"] == "1"
            async with session.get(control + "records", params={"channel": "C0LIMA"}) as resp:
                records = await resp.json()
    finally:
        proc.kill()
        await proc.wait()
    assert [(r["op"], r["ts"], r["nonce"]) for r in records] == [("post", sent["ts"], "n-42")]
    saved = json.loads(state.read_text())  # still there after SIGKILL
    assert saved["records"] == records
    assert saved["channels"]["C0LIMA"]["messages"][0]["metadata"] == metadata


async def test_unacknowledged_event_is_resent_like_slack_does(fake: FakeSlack, make_adapter: AdapterFactory) -> None:
    """A slow app costs a retry (which the app deduplicates), not a lost event or a failed test."""
    fake.ack_timeout = 0.2
    _, sink = await make_adapter()
    fake.lose_acks = 1  # to Slack, an ack lost on the way looks the same as a late one
    await fake.deliver_event(event_callback(message_event(BOSTON, "U0ANA", "once", "1700000000.000100")))
    assert fake.event_retries == 1
    await fake.user_posts(BOSTON, "U0ANA", "marker")
    await sink.wait(2)
    assert [to_plain(t) for t in sink.texts()] == ["once", "marker"]
