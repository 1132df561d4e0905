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
from bot.events import LANGUAGES, ChannelRef
from bot.model import MODES
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
    poll_seconds: float = 1.0  # how often idle workers look for rows other processes added


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

    database: Path
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
    """Read and validate a config file; ``AGORA_DB`` overrides the database path."""
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
    _only(raw, "", {"agora", "adapters", "translation", "networks", "outbox", "similar", "supervision"})
    agora = _table(raw, "agora")
    _only(agora, "agora.", AGORA_KEYS)
    database = Path(environ.get("AGORA_DB") or _get(agora, "agora.database", str, "agora.db"))
    if not database.is_absolute() and str(database) != ":memory:":
        database = base / database
    default_lang = _lang(_get(agora, "agora.default_lang", str, "en"), "agora.default_lang")
    digest = _table(agora, "digest", "agora.")
    _only(digest, "agora.digest.", {"weekday", "hour"})
    weekday = _get(digest, "agora.digest.weekday", int, 0)
    hour = _get(digest, "agora.digest.hour", int, 14)
    if not 0 <= weekday <= 6:
        raise ConfigError(f"agora.digest.weekday: {weekday} is not 0 (Monday) to 6 (Sunday)")
    if not 0 <= hour <= 23:
        raise ConfigError(f"agora.digest.hour: {hour} is not an hour from 0 to 23")
    max_len = _get(agora, "agora.max_message_length", int, 12000)
    if max_len < 100:
        raise ConfigError("agora.max_message_length: must be at least 100")

    retention_days = _get(agora, "agora.retention_days", int, 0)
    if retention_days < 0:
        raise ConfigError("agora.retention_days: must be 0 (keep everything) or a number of days")

    files_raw = _get(agora, "agora.files_dir", str, "")
    files_dir = None if not files_raw else Path(files_raw) if Path(files_raw).is_absolute() else base / files_raw
    max_file_mb = _get(agora, "agora.max_file_mb", int, 100)
    if not 1 <= max_file_mb <= 4096:
        raise ConfigError("agora.max_file_mb: must be a number of megabytes from 1 to 4096")

    adapters = _table(raw, "adapters")
    for name, table in adapters.items():
        if not isinstance(table, dict):
            raise ConfigError(f"adapters.{name}: must be a table")
        if not isinstance(table.get("enabled", True), bool):
            raise ConfigError(f"adapters.{name}.enabled: must be true or false")

    outbox_raw = _table(raw, "outbox")
    _only(
        outbox_raw,
        "outbox.",
        {"max_attempts", "backoff_base", "backoff_max", "settle", "lease_seconds", "poll_seconds"},
    )
    outbox = OutboxConfig(
        max_attempts=_get(outbox_raw, "outbox.max_attempts", int, 8),
        backoff_base=float(_get(outbox_raw, "outbox.backoff_base", (int, float), 1.0)),
        backoff_max=float(_get(outbox_raw, "outbox.backoff_max", (int, float), 300.0)),
        settle=float(_get(outbox_raw, "outbox.settle", (int, float), 10.0)),
        lease_seconds=float(_get(outbox_raw, "outbox.lease_seconds", (int, float), 60.0)),
        poll_seconds=float(_get(outbox_raw, "outbox.poll_seconds", (int, float), 1.0)),
    )
    if not 1 <= outbox.lease_seconds <= 3600:
        raise ConfigError("outbox.lease_seconds: must be from 1 to 3600 seconds")
    if not 0.05 <= outbox.poll_seconds <= outbox.lease_seconds / 2:
        raise ConfigError("outbox.poll_seconds: must be from 0.05 seconds to half of outbox.lease_seconds")
    similar_raw = _table(raw, "similar")
    _only(similar_raw, "similar.", {"enabled", "threshold"})
    threshold = float(_get(similar_raw, "similar.threshold", (int, float), SIMILAR_THRESHOLD))
    if not -1.0 <= threshold <= 1.0:
        raise ConfigError(f"similar.threshold: {threshold} is not a cosine from -1 to 1")
    similar = SimilarConfig(_get(similar_raw, "similar.enabled", bool, True), threshold)
    return Config(
        database=database,
        default_lang=default_lang,
        relay_bots=_get(agora, "agora.relay_bots", bool, False),
        max_message_length=max_len,
        digest_weekday=weekday,
        digest_hour=hour,
        glossary_members=_get(agora, "agora.glossary_members", bool, False),
        adapters=adapters,
        translation=_table(raw, "translation"),
        networks=_networks(raw.get("networks", [])),
        outbox=outbox,
        path=path,
        retention_days=retention_days,
        files_dir=files_dir,
        max_file_mb=max_file_mb,
        similar=similar,
        supervision=SupervisionPolicy.from_table(_table(raw, "supervision")),
    )


def _networks(raw: Any) -> tuple[NetworkConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError("networks: must be an array of tables ([[networks]])")
    seen_refs: set[ChannelRef] = set()
    names: set[str] = set()
    out: list[NetworkConfig] = []
    for i, net in enumerate(raw):
        where = f"networks[{i}]"
        if not isinstance(net, dict):
            raise ConfigError(f"{where}: must be a table")
        _only(net, where + ".", {"name", "code", "channels"})
        name = _get(net, f"{where}.name", str, None)
        if not NETWORK_NAME.match(name):
            raise ConfigError(f"{where}.name: {name!r} must be 2-40 letters, digits, dashes or underscores")
        if name in names:
            raise ConfigError(f"{where}.name: network {name!r} is declared twice")
        names.add(name)
        code = net.get("code")
        if code is not None and not (isinstance(code, str) and 4 <= len(code) <= 64):
            raise ConfigError(f"{where}.code: must be a string of 4 to 64 characters")
        channels: list[ChannelConfig] = []
        for j, ch in enumerate(net.get("channels", [])):
            cw = f"{where}.channels[{j}]"
            if not isinstance(ch, dict):
                raise ConfigError(f"{cw}: must be a table")
            _only(ch, cw + ".", {"ref", "city", "lang", "mode", "country"})
            try:
                ref = ChannelRef.parse(_get(ch, f"{cw}.ref", str, None))
            except ValueError as exc:
                raise ConfigError(f"{cw}.ref: {exc}") from None
            if ref in seen_refs:
                raise ConfigError(f"{cw}.ref: {ref} is already in a network")
            seen_refs.add(ref)
            mode = _get(ch, f"{cw}.mode", str, "questions")
            if mode not in MODES:
                raise ConfigError(f"{cw}.mode: {mode!r} is not one of {', '.join(MODES)}")
            country = _get(ch, f"{cw}.country", str, "").upper()
            if country and not COUNTRY.match(country):
                raise ConfigError(f"{cw}.country: {country!r} is not a two-letter ISO country code")
            city = _get(ch, f"{cw}.city", str, None).strip()
            if not city:
                raise ConfigError(f"{cw}.city: must not be empty")
            channels.append(
                ChannelConfig(ref, city, _lang(_get(ch, f"{cw}.lang", str, None), f"{cw}.lang"), mode, country)
            )
        out.append(NetworkConfig(name, tuple(channels), code))
    return tuple(out)


def _table(raw: Mapping[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{prefix}{key}: must be a table")
    return value


def _only(table: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{prefix}{key}: unknown key (expected one of {', '.join(sorted(allowed))})")


def _get(table: Mapping[str, Any], dotted: str, kind: Any, default: Any) -> Any:
    key = dotted.rsplit(".", 1)[-1]
    if key not in table:
        if default is None:
            raise ConfigError(f"{dotted}: is required")
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"{dotted}: expected {names}, got {value!r}")
    return value


def _lang(value: str, where: str) -> str:
    if value not in LANGUAGES:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(LANGUAGES)}")
    return value
