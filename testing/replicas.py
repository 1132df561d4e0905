"""Several ``agora run`` replicas on one database, against the fake Slack and Discord, for takeover
tests and the replica benchmark.

Every replica is a real process with its own web port (for ``/ready`` and ``/metrics``), all
sharing one database given by URL (a SQLite file path now; a ``postgresql://`` URL works the same
once that backend exists, since nothing here reads the database itself: what was relayed is read
from the fakes' records, and whether the outbox settled from the replicas' ``/metrics``). The
fakes stay in the calling process, so a replica can be SIGKILLed while Slack and Discord keep
their records. Messages carry a token (``Q0042``) so each post can be traced to its original.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from testing.discord_server import FakeDiscord
from testing.polling import eventually
from testing.processes import stop_process
from testing.slack_server import APP_TOKEN, BOT_TOKEN, TEAM, FakeSlack

TOKEN = re.compile(r"Q(\d{4,6})")
SLACK_CHANNELS = (("C0OTTAWA", "Ottawa", "en"), ("C0CURITIBA", "Curitiba", "pt"))
DISCORD_CHANNELS = (("boston", "Boston", "en"), ("bogota", "Bogota", "es"))
"""The channels of each network: two on Slack, two on Discord (network ``k`` > 0 suffixes them with ``k``)."""


@dataclass(frozen=True, slots=True)
class Linked:
    """One linked city channel: ``key`` is the Slack channel id or the Discord channel's name."""

    network: str
    platform: str
    key: str
    city: str
    lang: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    """One ``agora run`` process."""

    name: str
    port: int
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the process has used so far (Linux ``/proc``)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """The fakes, the linked channels (every one in mirror mode), and the replicas."""

    workdir: Path
    database: str
    networks: int = 1
    gateway_lease: float = 3.0
    poll_seconds: float = 0.2
    slack_pace: float = 0.02
    discord_pace: float = 0.02
    slack: FakeSlack = field(default_factory=FakeSlack)
    discord: FakeDiscord = field(default_factory=FakeDiscord)
    replicas: list[Replica] = field(default_factory=list)
    discord_ids: dict[str, int] = field(default_factory=dict)
    links: list[Linked] = field(default_factory=list)
    _user: int = 0

    async def __aenter__(self) -> Cluster:
        await self.discord.start()
        guild = self.discord.add_guild("Cities of the Americas")
        self._guild = guild
        self._user = self.discord.add_user("Luis")
        self.slack.add_user("U0ANA", "Ana", locale="en-US")
        for k in range(self.networks):
            suffix = str(k) if k else ""
            network = f"americas{suffix}"
            for cid, city, lang in SLACK_CHANNELS:
                self.slack.add_channel(cid + suffix, (city + suffix).lower(), creator="U0ANA")
                self.links.append(Linked(network, "slack", cid + suffix, city + suffix, lang))
            for name, city, lang in DISCORD_CHANNELS:
                self.discord_ids[name + suffix] = self.discord.add_channel(guild, name + suffix)
                self.links.append(Linked(network, "discord", name + suffix, city + suffix, lang))
        await self.slack.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for replica in self.replicas:
            await self.stop(replica)
        await self.slack.stop()
        await self.discord.stop()

    # ------------------------------------------------------------ replicas

    def ref(self, link: Linked) -> str:
        if link.platform == "slack":
            return f"slack:{TEAM}/{link.key}"
        return f"discord:{self._guild}/{self.discord_ids[link.key]}"

    def refs(self, network: str | None = None) -> list[str]:
        """Every linked channel's reference (of one network, if given)."""
        return [self.ref(link) for link in self.links if network is None or link.network == network]

    def write_config(self, replica: Replica) -> None:
        networks = ""
        for network in dict.fromkeys(link.network for link in self.links):
            networks += f'[[networks]]\nname = "{network}"\n'
            networks += "".join(
                f'[[networks.channels]]\nref = "{self.ref(link)}"\ncity = "{link.city}"\nlang = "{link.lang}"\n'
                'mode = "mirror"\n'
                for link in self.links
                if link.network == network
            )
        replica.config.write_text(
            f"""
[agora]
database = "{self.database}"
[translation]
backend = "none"
[similar]
enabled = false
[outbox]
backoff_base = 0.1
backoff_max = 1.0
max_attempts = 50
settle = 1.0
lease_seconds = 30
poll_seconds = {self.poll_seconds}
[adapters.web]
port = {replica.port}
[adapters.slack]
api_url = "{self.slack.api_url}"
timeout = 2
pace = {self.slack_pace}
catchup_hours = 0
inbox_stale_seconds = 3
[adapters.discord]
api_base = "{self.discord.api_base}"
gateway_url = "{self.discord.gateway_url}"
guild_ready_timeout = 0.05
reidentify_delay = 0.0
request_timeout = 2.0
pace = {self.discord_pace}
gateway_lease = {self.gateway_lease}
{networks}"""
        )

    async def launch(self) -> Replica:
        """Start one more replica and wait until it serves ``/ready`` with Slack connected."""
        n = len(self.replicas)
        replica = Replica(f"r{n}", free_port(), self.workdir / f"config-r{n}.toml", self.workdir / f"agora-r{n}.log")
        self.write_config(replica)
        self.replicas.append(replica)
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("AGORA_DB", "AGORA_CONFIG", "AGORA_WEB_TOKEN")},
            "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "DISCORD_TOKEN": self.discord.token,
        }
        with replica.log.open("ab") as log:
            replica.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(replica.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        await self.until(lambda: self.ready(replica), f"replica {replica.name} to be ready", 90)
        return replica

    def kill(self, replica: Replica) -> None:
        """SIGKILL: no clean shutdown, no lease released, sockets cut by the kernel."""
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGKILL)
        replica.proc.wait(10)

    async def stop(self, replica: Replica) -> int | None:
        return await stop_process(replica.proc, grace=30)

    async def get(self, replica: Replica, path: str) -> tuple[int, str]:
        try:
            async with aiohttp.ClientSession() as session, session.get(replica.url + path) as resp:
                return resp.status, await resp.text()
        except aiohttp.ClientError:
            return 0, ""

    async def readiness(self, replica: Replica) -> dict[str, Any] | None:
        status, body = await self.get(replica, "/ready")
        return json.loads(body) if status in (200, 503) and body else None

    async def ready(self, replica: Replica) -> bool:
        if not replica.running:
            raise AssertionError(f"replica {replica.name} exited:\n{replica.log_text()[-3000:]}")
        found = await self.readiness(replica)
        return bool(found and found["ready"])

    async def holds_gateway(self, replica: Replica) -> bool:
        """This replica's Discord connection is up and not standing by."""
        found = await self.readiness(replica)
        return bool(found and found["connections"].get("discord") == "up" and "discord" not in found["standby"])

    async def settled(self, replica: Replica) -> bool:
        """Nothing pending or being sent, as the replica's ``/metrics`` count the shared outbox."""
        status, text = await self.get(replica, "/metrics")
        if status != 200:
            return False
        waiting = re.findall(r'^agora_deliveries\{[^}]*state="(?:pending|sending)"[^}]*\} (\S+)$', text, re.M)
        return all(float(v) == 0 for v in waiting)

    async def until(self, check: Any, what: str, budget: float = 60.0) -> Any:
        try:
            return await eventually(check, what, budget)
        except AssertionError as exc:
            logs = "\n".join(f"--- {r.name}\n{r.log_text()[-2500:]}" for r in self.replicas)
            raise AssertionError(f"{exc}\n{logs}") from None

    # ------------------------------------------------------------ traffic

    async def post_discord(self, channel: str, token: int) -> None:
        await self.discord.user_message(
            self.discord_ids[channel], self._user, f"Q{token:04d} how do you fund shelters?"
        )

    async def post_slack(self, channel: str, token: int) -> None:
        await self.slack.user_posts(channel, "U0ANA", f"Q{token:04d} how do you fund shelters?")

    def sequences(self) -> dict[str, list[int]]:
        """Per linked channel, the tokens Agora posted there, in the order the platform received them."""
        out: dict[str, list[int]] = {ref: [] for ref in self.refs()}
        slack_refs = {link.key: self.ref(link) for link in self.links if link.platform == "slack"}
        for record in self.slack.records:
            if record["op"] == "post" and record.get("channel") in slack_refs:
                m = TOKEN.search(record.get("text") or "")
                if m:
                    out[slack_refs[record["channel"]]].append(int(m.group(1)))
        for link in self.links:
            if link.platform != "discord":
                continue
            ref = self.ref(link)
            for record in self.discord.records.get(str(self.discord_ids[link.key]), []):
                m = TOKEN.search(record.get("content") or "") if record.get("op") == "post" else None
                if m:
                    out[ref].append(int(m.group(1)))
        return out

    def posts(self) -> dict[str, Counter[int]]:
        """Per linked channel, how many times each token was posted there by Agora."""
        return {ref: Counter(tokens) for ref, tokens in self.sequences().items()}

    def copies_of(self, token: int) -> dict[str, int]:
        """How many copies of ``token`` each linked channel received."""
        return {ref: counts[token] for ref, counts in self.posts().items() if counts[token]}

    def relayed_everywhere(self, token: int, source: str) -> bool:
        """Every channel of the source's network but the source has at least one copy."""
        copies = self.copies_of(token)
        return all(copies.get(ref, 0) >= 1 for ref in self.network_of(source) if ref != source)

    def network_of(self, source: str) -> list[str]:
        network = next(link.network for link in self.links if self.ref(link) == source)
        return self.refs(network)

    def delivered(self) -> int:
        """Copies posted so far, over every channel."""
        return sum(sum(c.values()) for c in self.posts().values())

    def source_ref(self, platform: str, channel: str) -> str:
        return self.ref(next(link for link in self.links if link.platform == platform and link.key == channel))

    def duplicates(self) -> dict[str, list[int]]:
        return {
            ref: sorted(t for t, n in c.items() if n > 1)
            for ref, c in self.posts().items()
            if max(c.values(), default=0) > 1
        }

    def live_gateway_sessions(self) -> int:
        return sum(1 for s in self.discord.sessions.values() if s.ws is not None and not s.ws.closed)

    @staticmethod
    def now() -> float:
        return time.monotonic()
