"""The ``[adapters.slack]`` table, checked once, and the secrets it points to.

Keys are validated when the adapter is created, so a typo fails ``agora run``
and ``agora doctor`` with the key's dotted name instead of a silent default.
Secrets are read at start from the environment variables the table names and
are never stored anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.errors import ConfigError
from bot.settings import check, read_dataclass

PREFIX = "adapters.slack"
MODES = ("socket", "http")


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Everything the Slack adapter reads from config.toml (no secrets)."""

    enabled: bool = True
    mode: str = "socket"
    api_url: str = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    http_path: str = "/slack/events"
    oauth: bool = False
    install_path: str = "/slack/install"
    redirect_path: str = "/slack/oauth_redirect"
    redirect_uri: str = ""
    authorize_url: str = ""
    relay_bots: bool = False
    catchup_hours: float = 24.0
    catchup_threads: int = 50
    timeout: float = 30.0
    pace: float = 1.0
    bot_token_env: str = "SLACK_BOT_TOKEN"
    app_token_env: str = "SLACK_APP_TOKEN"
    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    client_id_env: str = "SLACK_CLIENT_ID"
    client_secret_env: str = "SLACK_CLIENT_SECRET"
    max_file_mb: int = 100  # largest file uploaded into a Slack channel (Slack's own limit is 1 GB)
    inbox_stale_seconds: float = 30.0  # an acknowledged event not relayed after this is finished by another replica

    @property
    def base_url(self) -> str:
        """The Web API base with the trailing slash slack_sdk needs."""
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"

    @property
    def oauth_authorize_url(self) -> str:
        """Where installers are sent: beside the API host (slack.com, slack-gov.com) unless set."""
        return self.authorize_url or urljoin(self.base_url, "../oauth/v2/authorize")

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> SlackSettings:
        """Validate the raw table; ConfigError names the first bad key."""
        settings = read_dataclass(cls, table, PREFIX)
        settings._validate()
        return settings

    def _validate(self) -> None:
        parts = urlsplit(self.api_url)
        check(self.mode in MODES, PREFIX, "mode", f"{self.mode!r} is not one of {', '.join(MODES)}")
        check(
            parts.scheme in ("http", "https") and bool(parts.netloc),
            PREFIX,
            "api_url",
            f"{self.api_url!r} is not an http(s) URL",
        )
        check(not self.oauth or self.mode == "http", PREFIX, "oauth", 'multi-workspace installs need mode = "http"')
        check(0 <= self.http_port <= 65535, PREFIX, "http_port", f"{self.http_port} is not a port number")
        for key in ("http_path", "install_path", "redirect_path"):
            check(str(getattr(self, key)).startswith("/"), PREFIX, key, "must start with /")
        ok = self.catchup_hours >= 0 and self.catchup_threads >= 0
        check(ok, PREFIX, "catchup_hours/catchup_threads", "must not be negative")
        check(self.timeout > 0, PREFIX, "timeout", "must be positive")
        check(0 <= self.pace <= 60, PREFIX, "pace", "seconds between posts in a channel, 0 to 60")
        ok = 1 <= self.max_file_mb <= 1024
        check(ok, PREFIX, "max_file_mb", "megabytes from 1 to 1024 (Slack's own limit is 1 GB)")
        ok = 1 <= self.inbox_stale_seconds <= 3600
        check(ok, PREFIX, "inbox_stale_seconds", "seconds from 1 to 3600")


@dataclass(frozen=True, slots=True)
class Secrets:
    """The tokens for one run, read from the environment at start."""

    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    client_id: str = ""
    client_secret: str = ""


def read_secrets(settings: SlackSettings, environ: Mapping[str, str]) -> Secrets:
    """The secrets the configured mode needs; ConfigError names the missing variable."""

    def need(env: str, what: str) -> str:
        value = environ.get(env, "").strip()
        if not value:
            raise ConfigError(f"{PREFIX}: environment variable {env} ({what}) is not set")
        return value

    if settings.mode == "socket":
        return Secrets(
            bot_token=need(settings.bot_token_env, "bot token xoxb-…"),
            app_token=need(settings.app_token_env, "app-level token xapp-… with connections:write"),
        )
    signing_secret = need(settings.signing_secret_env, "signing secret")
    if settings.oauth:
        return Secrets(
            signing_secret=signing_secret,
            client_id=need(settings.client_id_env, "OAuth client id"),
            client_secret=need(settings.client_secret_env, "OAuth client secret"),
        )
    return Secrets(bot_token=need(settings.bot_token_env, "bot token xoxb-…"), signing_secret=signing_secret)
