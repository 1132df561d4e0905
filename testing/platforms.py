"""Fake Slack and fake Discord together, with many linked channels, for load, fault and crash runs.

The bot runs as a separate process (``agora run``) against both fakes, which
stay in the calling process, so the bot can be killed with SIGKILL while the
platforms keep their records. Every injected message carries a token
(``Q0042``) that survives translation, so each post the fakes recorded can be
traced to the message it copies.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testing.discord_server import FakeDiscord
from testing.polling import eventually
from testing.processes import stop_process
from testing.slack_server import APP_TOKEN, BOT_TOKEN, TEAM, FakeSlack

TOKEN = re.compile(r"Q(\d{4,6})")
SENTENCES = {
    "en": "how do you fund homeless shelters and outreach in winter?",
    "es": "¿cómo financian los albergues para personas sin hogar en invierno?",
    "pt": "como vocês financiam os abrigos para pessoas em situação de rua no inverno?",
}
LANGS = ("en", "es", "pt")


@dataclass(frozen=True, slots=True)
class Linked:
    """One linked city channel on a fake platform."""

    platform: str
    space: str
    channel: str
    network: str
    lang: str
    city: str

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.space}/{self.channel}"


@dataclass
class Injected:
    token: int
    source: Linked
    at: float


@dataclass
class Platforms:
    """Both fakes, the channel layout, the bot process and what was delivered."""

    workdir: Path
    channels: int = 50
    per_network: int = 5
    slack: FakeSlack = field(default_factory=lambda: FakeSlack(hang_seconds=3.0))
    discord: FakeDiscord = field(default_factory=FakeDiscord)
    linked: list[Linked] = field(default_factory=list)
    injected: dict[int, Injected] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)
    _discord_user: int = 0
    _slack_user: str = "U0CITY"

    def __post_init__(self) -> None:
        self.log = self.workdir / "agora.log"

    async def __aenter__(self) -> Platforms:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await self.discord.start()
        guild = self.discord.add_guild("Cities of the Americas")
        self._discord_user = self.discord.add_user("Luis")
        self.slack.add_user(self._slack_user, "Ana", locale="en-US")
        for i in range(self.channels):
            network = f"net{i // self.per_network:02d}"
            lang = LANGS[i % 3]
            if i % 2 == 0:
                cid = f"C{i:04d}"
                self.slack.add_channel(cid, f"city-{i}", creator=self._slack_user)
                self.linked.append(Linked("slack", TEAM, cid, network, lang, f"City {i}"))
            else:
                cid = str(self.discord.add_channel(guild, f"city-{i}"))
                self.linked.append(Linked("discord", str(guild), cid, network, lang, f"City {i}"))
        await self.slack.start()

    async def stop(self) -> None:
        await self.stop_bot()
        await self.slack.stop()
        await self.discord.stop()

    # ------------------------------------------------------------ the bot

    def write_config(
        self, *, slack_pace: float, discord_pace: float, translation: str = "none", extra: str = ""
    ) -> Path:
        networks: dict[str, list[Linked]] = {}
        for link in self.linked:
            networks.setdefault(link.network, []).append(link)
        lines = [
            "[agora]",
            'database = "agora.db"',
            "[outbox]",
            "backoff_base = 0.2",
            "backoff_max = 2.0",
            "max_attempts = 30",
            "settle = 4.0",
            "[translation]",
            f'backend = "{translation}"',
            "[adapters.slack]",
            f'api_url = "{self.slack.api_url}"',
            "timeout = 2",
            f"pace = {slack_pace}",
            "[adapters.discord]",
            f'api_base = "{self.discord.api_base}"',
            f'gateway_url = "{self.discord.gateway_url}"',
            "guild_ready_timeout = 0.05",
            "reidentify_delay = 0.0",
            "request_timeout = 2.0",
            f"pace = {discord_pace}",
            extra,
        ]
        for name, links in networks.items():
            lines += ["[[networks]]", f'name = "{name}"']
            for link in links:
                lines += [
                    "[[networks.channels]]",
                    f'ref = "{link.ref}"',
                    f'city = "{link.city}"',
                    f'lang = "{link.lang}"',
                    'mode = "mirror"',
                ]
        path = self.workdir / "config.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "DISCORD_TOKEN": self.discord.token,
        }

    async def start_bot(self, config: Path, timeout: float = 60.0) -> None:
        """Start ``agora run`` and wait until both platforms see it connected."""
        slack_before = self.slack.socket_connections
        discord_before = len(self.discord.identifies) + self.discord.resumes
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env(),
                cwd=self.workdir,
            )

        def connected() -> bool:
            discord_now = len(self.discord.identifies) + self.discord.resumes
            running = b"Agora is running" in self.log.read_bytes()[offset:]
            return running and self.slack.socket_connections > slack_before and discord_now > discord_before

        try:
            await self.until(connected, timeout, "agora to connect")
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n" + self.log.read_text()[-3000:]) from None

    def kill_bot(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def stop_bot(self) -> int | None:
        return await stop_process(self.proc)

    def peak_rss_mb(self) -> float:
        """The bot's peak resident memory so far (VmHWM)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    # ------------------------------------------------------------ traffic

    async def inject(self, token: int, link: Linked) -> None:
        """A person posts a message carrying ``token`` in ``link``'s channel."""
        text = f"Q{token:04d} {SENTENCES[link.lang]}"
        self.injected[token] = Injected(token, link, time.time())
        if link.platform == "slack":
            await self.slack.wait_socket(timeout=60)  # while the bot reconnects, Slack holds events too
            await self.slack.user_posts(link.channel, self._slack_user, text)
        else:
            await self.discord.user_message(int(link.channel), self._discord_user, text)

    async def burst(self, count: int) -> None:
        """``count`` messages, round-robin over the channels; each channel posts its share in order,
        all channels at once (as a busy network does)."""
        per_channel: dict[int, list[int]] = {}
        for token in range(count):
            per_channel.setdefault(token % len(self.linked), []).append(token)

        async def post_all(index: int, tokens: list[int]) -> None:
            for token in tokens:
                await self.inject(token, self.linked[index])

        await asyncio.gather(*(post_all(i, tokens) for i, tokens in per_channel.items()))

    def posts(self) -> dict[str, list[tuple[int, float]]]:
        """Per linked channel: the tokens of the copies the platform accepted, in order, with times."""
        out: dict[str, list[tuple[int, float]]] = {link.ref: [] for link in self.linked}
        by_channel = {link.channel: link.ref for link in self.linked}
        for record in self.slack.records:
            if record["op"] == "post" and record["channel"] in by_channel:
                m = TOKEN.search(record.get("text") or "")
                if m:
                    out[by_channel[record["channel"]]].append((int(m.group(1)), float(record["at"])))
        for channel, records in self.discord.records.items():
            for record in records:
                if record.get("op") == "post" and channel in by_channel:
                    m = TOKEN.search(record.get("content") or "")
                    if m:
                        out[by_channel[channel]].append((int(m.group(1)), float(record["at"])))
        return out

    def delivered(self) -> int:
        return sum(len(v) for v in self.posts().values())

    def complete(self) -> bool:
        """Every expected copy has arrived at least once."""
        posts = self.posts()
        return all(want <= {t for t, _ in posts[ref]} for ref, want in self.expected().items())

    def expected(self) -> dict[str, set[int]]:
        """Mirror mode: every message reaches every other channel of its network."""
        out: dict[str, set[int]] = {link.ref: set() for link in self.linked}
        for inj in self.injected.values():
            for link in self.linked:
                if link.network == inj.source.network and link.ref != inj.source.ref:
                    out[link.ref].add(inj.token)
        return out

    def committed(self) -> dict[int, int]:
        """Token -> the bot's message id (its commit order), read from the bot's database."""
        db = sqlite3.connect(f"file:{self.workdir / 'agora.db'}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("select id, plain from messages").fetchall()
        finally:
            db.close()
        out: dict[int, int] = {}
        for mid, plain_text in rows:
            m = TOKEN.search(plain_text or "")
            if m:
                out[int(m.group(1))] = int(mid)
        return out

    async def until(self, check: Callable[[], object], timeout: float, what: str) -> None:
        """Poll ``check``; fail at once if the bot process died meanwhile."""

        def alive_and_done() -> object:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"agora died while waiting for {what}:\n" + self.log.read_text()[-3000:])
            return check()

        await eventually(alive_and_done, what, timeout)

    def check_exactly_once_in_order(self) -> dict[str, Any]:
        """Every expected copy once, per channel in the order the bot committed the messages."""
        posts = self.posts()
        expected = self.expected()
        order = self.committed()
        problems: list[str] = []
        for ref, got in posts.items():
            tokens = [t for t, _ in got]
            if sorted(tokens) != sorted(expected[ref]):
                missing = sorted(expected[ref] - set(tokens))[:10]
                doubled = sorted({t for t in tokens if tokens.count(t) > 1})[:10]
                problems.append(f"{ref}: missing {missing}, doubled {doubled}")
            ids = [order.get(t, -1) for t in tokens]
            if ids != sorted(ids):
                problems.append(f"{ref}: out of order")
        assert not problems, "\n".join(problems[:20])
        return {"channels": len(posts), "copies": sum(len(v) for v in posts.values())}
