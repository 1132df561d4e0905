"""The ``[adapters.web]`` table, checked once, and the access token it may need.

A typo or a wrong type stops ``agora run`` with the key's dotted name. The
playground has no login: on a loopback address only this machine reaches it;
on any other address every API call must carry the access token from the
environment, or Agora refuses to start and says why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.errors import ConfigError

PREFIX = "adapters.web"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Everything the web adapter reads from config.toml (no secrets)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    pace: float = 0.0
    max_text: int = 4000
    max_file_mb: int = 25
    token_env: str = "AGORA_WEB_TOKEN"
    allowed_hosts: tuple[str, ...] = ()  # extra names the page may be reached by (e.g. "agora.example.gov")

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> WebSettings:
        """Validate the raw table; ConfigError names the first bad key."""
        known = {f.name: f.default for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"{PREFIX}.{key}: unknown key (expected one of {', '.join(sorted(known))})")
            values[key] = _coerce(key, value, known[key])
        settings = cls(**values)
        settings._validate()
        return settings

    def _validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{PREFIX}.port: must be a port number from 0 to 65535")
        if self.max_text < 200:
            raise ConfigError(f"{PREFIX}.max_text: must be at least 200")
        if not 0 <= self.max_file_mb <= 100:
            raise ConfigError(f"{PREFIX}.max_file_mb: must be a whole number of megabytes from 0 to 100")
        if not 0 <= self.pace <= 60:
            raise ConfigError(f"{PREFIX}.pace: seconds between posts in a channel, 0 to 60")
        if not self.host.strip():
            raise ConfigError(f"{PREFIX}.host: must not be empty")

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the address the playground binds."""
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    def token(self, environ: Mapping[str, str]) -> str:
        """The access token ("" when none); required, or ConfigError, off loopback."""
        token = environ.get(self.token_env, "").strip()
        if token and len(token) < 16:
            raise ConfigError(f"{PREFIX}: {self.token_env} must be at least 16 characters (try: openssl rand -hex 24)")
        if not token and not self.loopback:
            raise ConfigError(
                f"{PREFIX}.host: {self.host!r} is not a loopback address and the playground has no login; "
                f"set {self.token_env} to a long random token (every API call must then send "
                f'"Authorization: Bearer <token>") or bind host = "127.0.0.1"'
            )
        return token


def _coerce(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{PREFIX}.{key}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{PREFIX}.{key}: expected a whole number, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{PREFIX}.{key}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{PREFIX}.{key}: expected a list of host names, got {value!r}")
        return tuple(v.strip().lower() for v in value)
    if not isinstance(value, str):
        raise ConfigError(f"{PREFIX}.{key}: expected a string, got {value!r}")
    return value
