"""config.toml into typed, validated settings.

Everything is checked up front so a typo stops ``agora run`` with the dotted
path of the offending key instead of failing later in a relay. Secrets never
live here: adapters read them from environment variables.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.events import ChannelRef
from bot.languages import LANGUAGES, MODES
from bot.settings import Table, check
from bot.store.connect import is_server_url
from bot.supervision import SupervisionPolicy

NETWORK_NAME = re.compile(r"^[A-Za-z0-9_-]{2,40}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """A city channel declared in config.toml."""

    ref: ChannelRef
    city: str
    lang: str
    mode: str = "questions"
    country: str = ""


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """A network declared in config.toml; ``code`` fixes its join code if given."""

    name: str
    channels: tuple[ChannelConfig, ...]
    code: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """Delivery retry policy."""

    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    settle: float = 10.0
    lease_seconds: float = 60.0  # a channel left by a dead process is taken over after this
    poll_seconds: float = 1.0  # how often idle workers look for rows other processes added (PostgreSQL: a fallback)


SIMILAR_THRESHOLD = 0.41  # chosen by cross-validation on tests/data/similar_tuning.jsonl (README)


@dataclass(frozen=True, slots=True)
class SimilarConfig:
    """Similar-question suggestions: on or off, and how close is close enough (see README)."""

    enabled: bool = True
    threshold: float = SIMILAR_THRESHOLD


@dataclass(frozen=True, slots=True)
class Config:
    """All settings. ``adapters`` and ``translation`` stay raw tables: their
    packages validate their own keys, so the core need not know them."""

    database: Path | str  # a SQLite file (Path), ":memory:", or a server URL (str, "postgresql://…")
    default_lang: str = "en"
    relay_bots: bool = False
    max_message_length: int = 12000
    digest_weekday: int = 0
    digest_hour: int = 14
    glossary_members: bool = False  # true: any member may change the glossary, not only channel managers
    adapters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    translation: Mapping[str, Any] = field(default_factory=dict)
    networks: tuple[NetworkConfig, ...] = ()
    outbox: OutboxConfig = OutboxConfig()
    path: Path | None = None
    retention_days: int = 0  # 0 keeps everything
    files_dir: Path | None = None  # None: "files" beside the database
    max_file_mb: int = 100
    similar: SimilarConfig = SimilarConfig()
    supervision: SupervisionPolicy = field(default_factory=SupervisionPolicy)

    @property
    def state_path(self) -> Path:
        """What Agora's local files are named after: the SQLite file itself, or for a server database
        ``agora.db`` beside the config file (``files/`` and ``agora-topics.npz`` go beside it)."""
        if is_server_url(self.database):
            return (self.path.parent if self.path else Path.cwd()) / "agora.db"
        return Path(self.database)

    def enabled_adapters(self) -> list[str]:
        """Adapter names whose table says ``enabled = true`` (the default)."""
        return [name for name, table in self.adapters.items() if table.get("enabled", True)]


AGORA_KEYS = {
    "database",
    "default_lang",
    "relay_bots",
    "max_message_length",
    "digest",
    "retention_days",
    "files_dir",
    "max_file_mb",
    "glossary_members",
}


def find_config(path: str | Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """``--config`` wins, then ``AGORA_CONFIG``, then ./config.toml."""
    chosen = path or environ.get("AGORA_CONFIG") or "config.toml"
    return Path(chosen)


def load_config(path: str | Path | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Read and validate a config file; ``AGORA_DB`` overrides the database (a path or a server URL)."""
    file = find_config(path, environ)
    try:
        with file.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file (set --config or AGORA_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_config(raw, base=file.parent, environ=environ, path=file)


def parse_config(
    raw: Mapping[str, Any], *, base: Path, environ: Mapping[str, str] = os.environ, path: Path | None = None
) -> Config:
    """Validate a parsed TOML document (split out so tests need no files)."""
    top = Table(raw)
    top.only({"agora", "adapters", "translation", "networks", "outbox", "similar", "supervision"})
    agora = top.sub("agora")
    agora.only(AGORA_KEYS)
    database = _database(environ.get("AGORA_DB") or agora.string("database", "agora.db"), base)
    default_lang = agora.choice("default_lang", LANGUAGES, "en")
    digest = agora.sub("digest")
    digest.only({"weekday", "hour"})
    weekday = digest.integer("weekday", 0)
    hour = digest.integer("hour", 14)
    check(0 <= weekday <= 6, "agora.digest", "weekday", f"{weekday} is not 0 (Monday) to 6 (Sunday)")
    check(0 <= hour <= 23, "agora.digest", "hour", f"{hour} is not an hour from 0 to 23")
    max_len = agora.integer("max_message_length", 12000)
    check(max_len >= 100, "agora", "max_message_length", "must be at least 100")
    retention_days = agora.integer("retention_days", 0)
    check(retention_days >= 0, "agora", "retention_days", "must be 0 (keep everything) or a number of days")
    files_raw = agora.string("files_dir", "")
    files_dir = None if not files_raw else Path(files_raw) if Path(files_raw).is_absolute() else base / files_raw
    max_file_mb = agora.integer("max_file_mb", 100)
    check(1 <= max_file_mb <= 4096, "agora", "max_file_mb", "must be a number of megabytes from 1 to 4096")

    adapters = top.sub("adapters")
    for name in adapters.raw:
        adapters.sub(name).boolean("enabled", True)

    outbox_raw = top.sub("outbox")
    outbox_raw.only({"max_attempts", "backoff_base", "backoff_max", "settle", "lease_seconds", "poll_seconds"})
    outbox = OutboxConfig(
        max_attempts=outbox_raw.integer("max_attempts", 8),
        backoff_base=outbox_raw.number("backoff_base", 1.0),
        backoff_max=outbox_raw.number("backoff_max", 300.0),
        settle=outbox_raw.number("settle", 10.0),
        lease_seconds=outbox_raw.number("lease_seconds", 60.0),
        poll_seconds=outbox_raw.number("poll_seconds", 1.0),
    )
    check(1 <= outbox.lease_seconds <= 3600, "outbox", "lease_seconds", "must be from 1 to 3600 seconds")
    ok = 0.05 <= outbox.poll_seconds <= outbox.lease_seconds / 2
    check(ok, "outbox", "poll_seconds", "must be from 0.05 seconds to half of outbox.lease_seconds")
    similar_raw = top.sub("similar")
    similar_raw.only({"enabled", "threshold"})
    threshold = _cosine(similar_raw)
    similar = SimilarConfig(similar_raw.boolean("enabled", True), threshold)
    return Config(
        database=database,
        default_lang=default_lang,
        relay_bots=agora.boolean("relay_bots", False),
        max_message_length=max_len,
        digest_weekday=weekday,
        digest_hour=hour,
        glossary_members=agora.boolean("glossary_members", False),
        adapters=dict(adapters.raw),
        translation=dict(top.sub("translation").raw),
        networks=_networks(raw.get("networks", [])),
        outbox=outbox,
        path=path,
        retention_days=retention_days,
        files_dir=files_dir,
        max_file_mb=max_file_mb,
        similar=similar,
        supervision=SupervisionPolicy.from_table(top.sub("supervision").raw),
    )


def _database(value: str, base: Path) -> Path | str:
    """A server URL as given; a SQLite path relative to the config file's directory."""
    if is_server_url(value):
        return value
    path = Path(value)
    return path if path.is_absolute() or value == ":memory:" else base / path


def _cosine(similar: Table) -> float:
    """``similar.threshold``: a cosine, so negative values are allowed (unlike other numbers)."""
    value = similar.raw.get("threshold", SIMILAR_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise similar.fail("threshold", f"expected a number, got {value!r}")
    check(-1.0 <= value <= 1.0, "similar", "threshold", f"{float(value)} is not a cosine from -1 to 1")
    return float(value)


def _networks(raw: Any) -> tuple[NetworkConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError("networks: must be an array of tables ([[networks]])")
    seen_refs: set[ChannelRef] = set()
    names: set[str] = set()
    out: list[NetworkConfig] = []
    for i, raw_net in enumerate(raw):
        net = Table(raw_net, f"networks[{i}]")
        net.only({"name", "code", "channels"})
        name = net.string("name")
        if not NETWORK_NAME.match(name):
            raise net.fail("name", f"{name!r} must be 2-40 letters, digits, dashes or underscores")
        if name in names:
            raise net.fail("name", f"network {name!r} is declared twice")
        names.add(name)
        code = net.raw.get("code")
        if code is not None and not (isinstance(code, str) and 4 <= len(code) <= 64):
            raise net.fail("code", "must be a string of 4 to 64 characters")
        channels: list[ChannelConfig] = []
        for j, raw_ch in enumerate(net.raw.get("channels", [])):
            ch = Table(raw_ch, f"{net.prefix}.channels[{j}]")
            ch.only({"ref", "city", "lang", "mode", "country"})
            try:
                ref = ChannelRef.parse(ch.string("ref"))
            except ValueError as exc:
                raise ch.fail("ref", str(exc)) from None
            if ref in seen_refs:
                raise ch.fail("ref", f"{ref} is already in a network")
            seen_refs.add(ref)
            mode = ch.choice("mode", MODES, "questions")
            country = ch.string("country", "").upper()
            if country and not COUNTRY.match(country):
                raise ch.fail("country", f"{country!r} is not a two-letter ISO country code")
            city = ch.string("city").strip()
            if not city:
                raise ch.fail("city", "must not be empty")
            channels.append(ChannelConfig(ref, city, ch.choice("lang", LANGUAGES), mode, country))
        out.append(NetworkConfig(name, tuple(channels), code))
    return tuple(out)
