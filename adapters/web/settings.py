"""The ``[adapters.web]`` table, checked once, and the access token it may need.

A typo or a wrong type stops ``agora run`` with the key's dotted name. The
playground has no login: on a loopback address only this machine reaches it;
on any other address every API call must carry the access token from the
environment, or Agora refuses to start and says why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.errors import ConfigError
from bot.settings import check, read_dataclass

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
        settings = read_dataclass(cls, table, PREFIX)
        hosts = tuple(h.strip().lower() for h in settings.allowed_hosts)
        check(
            all(hosts), PREFIX, "allowed_hosts", f"expected a list of host names, got {list(settings.allowed_hosts)!r}"
        )
        settings = replace(settings, allowed_hosts=hosts)
        check(0 <= settings.port <= 65535, PREFIX, "port", "must be a port number from 0 to 65535")
        check(settings.max_text >= 200, PREFIX, "max_text", "must be at least 200")
        ok = 0 <= settings.max_file_mb <= 100
        check(ok, PREFIX, "max_file_mb", "must be a whole number of megabytes from 0 to 100")
        check(0 <= settings.pace <= 60, PREFIX, "pace", "seconds between posts in a channel, 0 to 60")
        check(bool(settings.host.strip()), PREFIX, "host", "must not be empty")
        return settings

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
