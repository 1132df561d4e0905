"""Files travel as files between Slack, Discord and the web playground, through the real core.

One Agora runs the three adapters as ``agora run`` does: slack-bolt and slack_sdk talk to the fake Slack
(Socket Mode), discord.py to the fake Discord, and the playground is read over its HTTP API. The cities:
Boston on Slack (en), Lima on Discord (es), Recife on the web (pt), all in mirror mode. What each
platform received is read from the fakes' records: the uploaded bytes' sha256, the copy's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.discord.markup import parse
from bot.app import Agora
from bot.richtext import to_plain
from testing import configs
from testing.discord_server import FakeDiscord
from testing.polling import relayed
from testing.slack_server import BOT_TOKEN, TEAM, FakeSlack

BOSTON = "C0BOSTON"
PDF = b"%PDF-1.7 plan de vivienda " + bytes(range(256)) * 400
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 4000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Cities:
    slack: FakeSlack
    discord: FakeDiscord
    guild: int
    lima: int
    luis: int
    tmp: Path
    app: Agora | None = None
    http: aiohttp.ClientSession | None = None

    async def start(self, *, settle: float = 0.2, slack_timeout: float = 5, **discord_extra: Any) -> Agora:
        channels = [
            {"ref": f"slack:{TEAM}/{BOSTON}", "city": "Boston", "lang": "en", "mode": "mirror"},
            {"ref": f"discord:{self.guild}/{self.lima}", "city": "Lima", "lang": "es", "mode": "mirror"},
            {"ref": "web:demo/recife", "city": "Recife", "lang": "pt", "mode": "mirror"},
        ]
        outbox = {**configs.FAST_OUTBOX, "settle": settle}
        self.app = configs.marking_agora(
            self.tmp,
            channels,
            slack=self.slack,
            discord=self.discord,
            outbox=outbox,
            slack_timeout=slack_timeout,
            **discord_extra,
        )
        await self.app.start()
        return self.app

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop(grace=1)
            self.app = None

    async def until(self, check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """Drain the outbox until ``check()`` holds (events reach the core just after their ack)."""
        assert self.app is not None
        return await relayed(self.app.outbox, check, what, timeout)

    def lima_posts(self, op: str = "post") -> list[dict[str, Any]]:
        """What the fake Discord accepted in Lima, with ``plain``: the text without Discord's markup."""
        records = [r for r in self.discord.records.get(str(self.lima), []) if r["op"] == op]
        return [dict(r, plain=to_plain(parse(r["content"]))) if "content" in r else r for r in records]

    async def recife(self) -> list[dict[str, Any]]:
        assert self.app is not None and self.http is not None
        url = str(self.app.adapters["web"].url).rstrip("/")  # type: ignore[attr-defined]
        async with self.http.get(f"{url}/api/channels/recife/messages") as resp:
            assert resp.status == 200
            found: list[dict[str, Any]] = await resp.json()
            return found

    async def download(self, path: str) -> bytes:
        assert self.app is not None and self.http is not None
        url = str(self.app.adapters["web"].url).rstrip("/")  # type: ignore[attr-defined]
        async with self.http.get(url + path) as resp:
            assert resp.status == 200
            return await resp.read()


@pytest.fixture
async def cities(tmp_path: Path) -> AsyncIterator[Cities]:
    slack = FakeSlack(hang_seconds=3.0)
    slack.add_user("U0ANA", "Ana", locale="en-US")
    slack.add_channel(BOSTON, "agora-boston", creator="U0ANA")
    await slack.start()
    discord = await FakeDiscord().start()
    guild = discord.add_guild("Cities of the Americas")
    lima = discord.add_channel(guild, "lima")
    luis = discord.add_user("Luis")
    c = Cities(slack, discord, guild, lima, luis, tmp_path)
    async with aiohttp.ClientSession() as http:
        c.http = http
        yield c
        await c.stop()
    await slack.stop()
    await discord.stop()


async def test_a_slack_file_reaches_discord_and_the_web_with_the_same_bytes(cities: Cities) -> None:
    await cities.start()
    hosted = cities.slack.host_file("plan-vivienda-2026.pdf", PDF)
    await cities.slack.user_posts(BOSTON, "U0ANA", "Our housing plan for 2026", files=[hosted])

    (post,) = await cities.until(cities.lima_posts, "the Discord copy")
    assert post["uploads"] == [{"filename": "plan-vivienda-2026.pdf", "size": len(PDF), "sha256": sha(PDF)}]
    assert post["plain"].startswith("[es] Our housing plan for 2026") and post["username"] == "Ana (Boston)"

    async def web_copy() -> list[dict[str, Any]]:
        return [m for m in await cities.recife() if m["files"]]

    (copy,) = await cities.until(web_copy, "the web copy")
    (f,) = copy["files"]
    assert f["name"] == "plan-vivienda-2026.pdf" and await cities.download(f["url"]) == PDF
    # Fetched once from Slack, with the bot token, for both copies.
    assert [x["token"] for x in cities.slack.file_fetches] == [BOT_TOKEN]


async def test_a_discord_attachment_reaches_slack_with_the_same_bytes(cities: Cities) -> None:
    await cities.start()
    await cities.discord.user_message(
        cities.lima, cities.luis, "Hola, el mapa de albergues", files=(("mapa.png", PNG),)
    )

    (upload,) = await cities.until(lambda: cities.slack.records_for(BOSTON, "upload"), "the Slack upload")
    assert upload["name"] == "mapa.png" and upload["sha256"] == sha(PNG)
    assert cities.slack.files[upload["file_id"]]["data"] == PNG
    assert upload["text"].startswith("*Luis (Lima)*\n[en] Hola, el mapa de albergues")
    assert upload["thread_ts"] is None and upload["ts"]
    assert cities.slack.calls_to("chat.postMessage") == []  # one message: the file with its text
    await cities.slack.settle()
    assert len(cities.lima_posts()) == 0  # the upload echoed back to Agora is not relayed again


async def test_a_lost_answer_to_the_upload_does_not_post_the_file_twice(cities: Cities) -> None:
    """completeUploadExternal takes effect but its answer never arrives: the outbox waits ``settle``, finds the
    message through the upload's file id, and records it; nothing is uploaded twice."""
    cities.slack.hang_seconds = 2.0
    cities.slack.fail("files.completeUploadExternal", "hang")
    app = await cities.start(settle=4.0, slack_timeout=1)
    await cities.discord.user_message(cities.lima, cities.luis, "Hola, el plan", files=(("plan.pdf", PDF),))

    (upload,) = await cities.until(lambda: cities.slack.records_for(BOSTON, "upload"), "the Slack upload")
    await cities.until(lambda: True, "the outbox drained")  # the retry found the upload instead of sending
    (row,) = app.store.db.query("select state, attempts, last_error from outbox where channel like 'slack:%'")
    assert row["state"] == "done" and row["attempts"] == 1 and "timed out" in row["last_error"]
    assert len(cities.slack.records_for(BOSTON, "upload")) == 1
    assert len(cities.slack.calls_to("files.getUploadURLExternal")) == 1
    # The copy is recorded on the uploaded message: an edit reaches it.
    msg = next(iter(cities.discord.messages.values()))
    await cities.discord.user_edit(int(msg["id"]), "Hola, el plan final")
    (update,) = await cities.until(lambda: cities.slack.records_for(BOSTON, "update"), "the Slack edit")
    assert update["ts"] == upload["ts"]


async def test_an_over_limit_file_is_announced_not_uploaded(cities: Cities) -> None:
    await cities.start(max_file_mb=1)
    big = b"L" * (2 * 1024 * 1024 + 5)
    hosted = cities.slack.host_file("lidar-2026.zip", big, mimetype="application/zip")
    await cities.slack.user_posts(BOSTON, "U0ANA", "The lidar survey", files=[hosted])

    (post,) = await cities.until(cities.lima_posts, "the Discord copy")
    assert post["uploads"] == []
    assert post["plain"].startswith(
        "[es] The lidar survey\n📎 lidar-2026.zip (2.0 MB) es demasiado grande para compartirlo aquí "
        "(límite 1.0 MB); lo tiene Boston."
    )

    async def web_copy() -> list[dict[str, Any]]:
        return [m for m in await cities.recife() if m["files"]]

    (copy,) = await cities.until(web_copy, "the web copy")  # the web's limit (25 MB) lets it through
    assert await cities.download(copy["files"][0]["url"]) == big


async def test_a_slack_file_refused_without_the_token_is_announced_as_not_fetched(cities: Cities) -> None:
    cities.slack.workspaces[TEAM].scopes = cities.slack.workspaces[TEAM].scopes.replace(",files:read", "")
    await cities.start()
    hosted = cities.slack.host_file("rfp.pdf", PDF)
    await cities.slack.user_posts(BOSTON, "U0ANA", "Our RFP", files=[hosted])

    (post,) = await cities.until(cities.lima_posts, "the Discord copy")
    assert post["uploads"] == []
    assert post["plain"].startswith(
        "[es] Our RFP\n📎 rfp.pdf (100 KB) no se pudo traer de Boston (slack file rfp.pdf: Slack answered with its "
        "sign-in page"
    )


async def test_edit_and_delete_of_a_discord_file_message_reach_the_slack_upload(cities: Cities) -> None:
    await cities.start()
    msg = await cities.discord.user_message(cities.lima, cities.luis, "Hola, el borrador", files=(("plan.pdf", PDF),))
    (upload,) = await cities.until(lambda: cities.slack.records_for(BOSTON, "upload"), "the Slack upload")

    await cities.discord.user_edit(int(msg["id"]), "Hola, la versión final")
    (update,) = await cities.until(lambda: cities.slack.records_for(BOSTON, "update"), "the Slack edit")
    assert update["ts"] == upload["ts"] and update["text"].startswith("*Luis (Lima)*\n[en] Hola, la versión final")
    (message,) = [m for m in cities.slack.channels[BOSTON].messages if m["ts"] == upload["ts"]]
    assert [f["id"] for f in message["files"]] == [upload["file_id"]]  # the file stays
    assert len(cities.slack.records_for(BOSTON, "upload")) == 1

    await cities.discord.user_delete(int(msg["id"]))
    (deleted,) = await cities.until(lambda: cities.slack.records_for(BOSTON, "delete"), "the Slack delete")
    assert deleted["ts"] == upload["ts"]
    await cities.until(lambda: upload["file_id"] not in cities.slack.files, "the uploaded file deleted")


async def test_edit_and_delete_of_a_slack_file_message_reach_the_discord_upload(cities: Cities) -> None:
    await cities.start()
    hosted = cities.slack.host_file("plan.pdf", PDF)
    ts = await cities.slack.user_posts(BOSTON, "U0ANA", "Draft policy", files=[hosted])
    (post,) = await cities.until(cities.lima_posts, "the Discord copy")

    await cities.slack.user_edits(BOSTON, ts, "Final policy")
    (edit,) = await cities.until(lambda: cities.lima_posts("edit"), "the Discord edit")
    assert edit["message_id"] == post["message_id"] and edit["plain"].startswith("[es] Final policy")
    assert edit["attachments"] == 1  # the upload stays with the edited copy

    await cities.slack.user_deletes(BOSTON, ts)
    (deleted,) = await cities.until(lambda: cities.lima_posts("delete"), "the Discord delete")
    assert deleted["message_id"] == post["message_id"]


async def test_catch_up_relays_files_too(cities: Cities) -> None:
    await cities.start()
    await cities.slack.user_posts(BOSTON, "U0ANA", "hello before the outage")
    await cities.discord.user_message(cities.lima, cities.luis, "hola antes del corte")
    await cities.until(lambda: len(cities.lima_posts()) == 1 and cities.slack.records_for(BOSTON, "post"), "warm-up")
    await cities.stop()

    hosted = cities.slack.host_file("minutes.pdf", PDF)
    await cities.slack.user_posts(BOSTON, "U0ANA", "Minutes while you were away", files=[hosted], deliver=False)
    await cities.discord.user_message(
        cities.lima, cities.luis, "Hola, el mapa", files=(("mapa.png", PNG),), dispatch=False
    )
    await cities.start()

    def lima_uploads() -> list[Any]:
        return [u for p in cities.lima_posts() for u in p["uploads"]]

    (got,) = await cities.until(lima_uploads, "the caught-up Slack file on Discord")
    assert got["sha256"] == sha(PDF)
    (upload,) = await cities.until(lambda: cities.slack.records_for(BOSTON, "upload"), "the caught-up Discord file")
    assert upload["sha256"] == sha(PNG)


def test_the_files_benchmark_relays_the_same_bytes_to_ten_channels() -> None:
    """``agora bench files`` on a 1 MB file: the figures it prints come from a run that delivered everything."""
    from benchmarks.files import run

    figures = run(1)
    assert figures["same_bytes_everywhere"] is True
    assert figures["fetches_from_source"] == 1 and figures["channels"] == 10
    assert figures["bot_peak_rss_after_mb"] >= figures["bot_peak_rss_before_mb"] > 0
