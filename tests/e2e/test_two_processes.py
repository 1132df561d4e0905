"""Two real `agora run` processes on one database (issue 12: "one writer, or safe many").

Both serve the web playground (each on its own port) and post to the same
fake Slack workspace. A burst of `/ask` questions arrives through both
processes at once; every copy must reach every linked channel exactly once,
in the order the questions were committed, though the two processes share the
deliveries. Then the same with one process SIGKILLed during the burst: its
channels are taken over and its in-flight posts reconciled by nonce.

Before the fix: 120 questions gave 153 Slack posts (33 twice), "database is
locked" errors and rows stuck pending.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from testing.polling import eventually
from testing.processes import stop_process
from testing.slack_server import APP_TOKEN, BOT_TOKEN, TEAM, FakeSlack

TOKEN = re.compile(r"Q(\d{4})")
WEB = (("boston", "Boston", "en"), ("guadalajara", "Guadalajara", "es"))
SLACK = (("C0101", "Ottawa", "en"), ("C0102", "Bogota", "es"), ("C0103", "Curitiba", "pt"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bot:
    """One `agora run` process."""

    name: str
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """The fake Slack, two bots on one database, and what was asked."""

    workdir: Path
    slack: FakeSlack = field(default_factory=FakeSlack)
    bots: list[Bot] = field(default_factory=list)
    database: Path = field(init=False)

    def __post_init__(self) -> None:
        self.database = self.workdir / "shared.db"

    async def start(self) -> None:
        self.slack.add_user("U0ANA", "Ana", locale="en-US")
        for cid, city, _ in SLACK:
            self.slack.add_channel(cid, city.lower(), creator="U0ANA")
        await self.slack.start()
        for name in ("a", "b"):
            bot = Bot(name, free_port(), self.workdir / f"agora-{name}.log")
            self.write_config(bot)
            self.bots.append(bot)
            await self.launch(bot)  # one after the other, as an operator adds a replica

    def write_config(self, bot: Bot) -> Path:
        refs = [(f"web:demo/{cid}", city, lang) for cid, city, lang in WEB]
        refs += [(f"slack:{TEAM}/{cid}", city, lang) for cid, city, lang in SLACK]
        channels = [f'[[networks.channels]]\nref = "{r}"\ncity = "{city}"\nlang = "{lang}"\n' for r, city, lang in refs]
        path = self.workdir / f"config-{bot.name}.toml"
        path.write_text(
            f"""
[agora]
database = "{self.database}"
[translation]
backend = "none"
[outbox]
backoff_base = 0.1
backoff_max = 1.0
max_attempts = 50
settle = 1.0
lease_seconds = 4
poll_seconds = 0.2
[adapters.web]
port = {bot.port}
[adapters.slack]
api_url = "{self.slack.api_url}"
timeout = 2
pace = 0.02
catchup_hours = 0
[[networks]]
name = "demo"
{"".join(channels)}
"""
        )
        return path

    async def launch(self, bot: Bot) -> None:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
        }
        env.pop("AGORA_WEB_TOKEN", None)
        connections = self.slack.socket_connections
        with bot.log.open("ab") as log:
            bot.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(self.workdir / f"config-{bot.name}.toml")],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        proc = bot.proc
        async with aiohttp.ClientSession() as session:

            async def started() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"agora {bot.name} exited:\n" + bot.log.read_text()[-3000:])
                try:
                    async with session.get(bot.url + "/api/health") as resp:
                        return resp.status == 200 and self.slack.socket_connections > connections
                except aiohttp.ClientError:
                    return False

            try:
                await eventually(started, f"agora {bot.name} to start", 60)
            except AssertionError as exc:
                raise AssertionError(f"{exc}:\n" + bot.log.read_text()[-3000:]) from None

    async def stop(self) -> None:
        for bot in self.bots:
            await stop_process(bot.proc)
        await self.slack.stop()

    # ------------------------------------------------------------ traffic and checks

    async def ask(self, session: aiohttp.ClientSession, bot: Bot, token: int) -> bool:
        """One question through ``bot``'s playground; False if the bot was gone."""
        cid = WEB[token % len(WEB)][0]
        body = {"user": "Ana", "text": f"/ask Q{token:04d} how do you fund winter shelters?"}
        try:
            async with session.post(f"{bot.url}/api/channels/{cid}/messages", json=body) as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    def committed(self) -> dict[int, int]:
        """Token -> message id, from the shared database (the order questions were committed)."""
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("select id, plain from messages where kind = 'question'").fetchall()
        finally:
            db.close()
        return {int(m.group(1)): mid for mid, plain in rows if (m := TOKEN.search(plain or ""))}

    def slack_posts(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {cid: [] for cid, _, _ in SLACK}
        for record in self.slack.records:
            if record["op"] == "post" and record.get("channel") in out:
                m = TOKEN.search(record.get("text") or "")
                if m:
                    out[record["channel"]].append(int(m.group(1)))
        return out

    def web_copies(self) -> dict[str, list[int]]:
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("select channel, text from web_messages where is_copy = 1 order by id").fetchall()
        finally:
            db.close()
        out: dict[str, list[int]] = {cid: [] for cid, _, _ in WEB}
        for channel, text in rows:
            m = TOKEN.search(text or "")
            if m:
                out[channel].append(int(m.group(1)))
        return out

    def complete(self) -> bool:
        want = set(self.committed())
        posts = list(self.slack_posts().values()) + list(self.web_copies().values())
        return all(want <= set(tokens) for tokens in posts)

    def check_exactly_once_in_order(self) -> dict[str, Any]:
        order = self.committed()
        want = sorted(order, key=order.__getitem__)
        problems = []
        copies = 0
        for where, tokens in {**self.slack_posts(), **self.web_copies()}.items():
            copies += len(tokens)
            doubled = sorted({t for t in tokens if tokens.count(t) > 1})
            if doubled:
                problems.append(f"{where}: doubled {doubled[:10]}")
            if tokens != want:
                problems.append(f"{where}: got {len(tokens)} of {len(want)}, order {tokens[:8]}…")
        assert not problems, "\n".join(problems)
        return {"questions": len(want), "copies": copies, "channels": len(SLACK) + len(WEB), "duplicates": 0}

    def lease_owners(self) -> int:
        """How many processes held a channel lease (each row keeps its last holder)."""
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            return int(db.execute("select count(distinct owner) from channel_leases").fetchone()[0])
        finally:
            db.close()

    def log_text(self) -> str:
        return "\n".join(b.log.read_text(errors="replace") for b in self.bots if b.log.exists())


async def until(cluster: Cluster, timeout: float, what: str) -> None:
    try:
        await eventually(cluster.complete, what, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {cluster.slack_posts()}\n{cluster.log_text()[-4000:]}") from None


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        await c.start()
        yield c
    finally:
        await c.stop()


QUESTIONS = 60


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_two_processes_share_the_work_and_post_every_copy_exactly_once(cluster: Cluster) -> None:
    a, b = cluster.bots
    async with aiohttp.ClientSession() as session:

        async def feed(bot: Bot, tokens: range) -> None:
            for token in tokens:
                assert await cluster.ask(session, bot, token)

        await asyncio.gather(feed(a, range(0, QUESTIONS, 2)), feed(b, range(1, QUESTIONS, 2)))
    await until(cluster, 120, "every copy")
    figures = cluster.check_exactly_once_in_order()
    figures["lease_holders"] = cluster.lease_owners()
    print("two processes:", json.dumps(figures))
    assert figures["questions"] == QUESTIONS
    log = cluster.log_text()
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-4000:]


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_sigkill_of_one_process_mid_burst_loses_and_doubles_nothing(cluster: Cluster) -> None:
    a, b = cluster.bots
    assert b.proc is not None
    answered = {"a": 0, "b": 0}
    async with aiohttp.ClientSession() as session:

        async def feed(bot: Bot, tokens: range) -> None:
            for token in tokens:
                if not await cluster.ask(session, bot, token):
                    return  # that bot is gone
                answered[bot.name] += 1

        async def kill_b_midway() -> None:
            await eventually(lambda: answered["b"] >= QUESTIONS // 6, "B to answer a sixth", 120)
            assert b.proc is not None
            b.proc.send_signal(signal.SIGKILL)
            b.proc.wait(10)

        # B asks first, so its workers hold every channel's lease and deliver A's questions too until it dies.
        await feed(b, range(1, 2))
        await asyncio.gather(feed(a, range(0, QUESTIONS, 2)), feed(b, range(3, QUESTIONS, 2)), kill_b_midway())
    assert b.proc.returncode == -signal.SIGKILL
    await until(cluster, 120, "every committed copy after the SIGKILL")
    figures = cluster.check_exactly_once_in_order()
    figures["answered_by_killed_process"] = answered["b"]
    figures["takeovers_logged"] = cluster.log_text().count("took over the deliveries of")
    figures["reconciled_by_nonce"] = cluster.log_text().count("was already in")
    print("two processes, one SIGKILLed:", json.dumps(figures))
    assert QUESTIONS // 2 + QUESTIONS // 6 <= figures["questions"] < QUESTIONS
    assert figures["takeovers_logged"] >= 1  # A took B's channels over
    assert "database is locked" not in cluster.log_text()
