"""The [adapters.slack] table and the secrets it names."""

from __future__ import annotations

import pytest

from adapters.slack.settings import SlackSettings, read_secrets
from bot.errors import ConfigError


def test_defaults() -> None:
    s = SlackSettings.from_mapping({})
    assert (s.mode, s.base_url, s.catchup_hours, s.relay_bots) == ("socket", "https://slack.com/api/", 24.0, False)
    assert s.oauth_authorize_url == "https://slack.com/oauth/v2/authorize"


def test_govslack_api_url() -> None:
    s = SlackSettings.from_mapping({"api_url": "https://slack-gov.com/api"})
    assert s.base_url == "https://slack-gov.com/api/"
    assert s.oauth_authorize_url == "https://slack-gov.com/oauth/v2/authorize"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"mode": "rtm"}, "adapters.slack.mode"),
        ({"api_url": "slack.com/api"}, "adapters.slack.api_url"),
        ({"relay_bots": "yes"}, "adapters.slack.relay_bots"),
        ({"http_port": "3000"}, "adapters.slack.http_port"),
        ({"http_port": 70000}, "adapters.slack.http_port"),
        ({"catchup_hours": -1}, "adapters.slack.catchup_hours"),
        ({"oauth": True}, "adapters.slack.oauth"),
        ({"http_path": "slack/events"}, "adapters.slack.http_path"),
        ({"api_ur": "https://x/"}, "adapters.slack.api_ur: unknown key"),
    ],
)
def test_bad_values_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SlackSettings.from_mapping(table)


def test_numbers_are_coerced() -> None:
    assert SlackSettings.from_mapping({"catchup_hours": 6, "timeout": 5}).catchup_hours == 6.0


@pytest.mark.parametrize(
    ("table", "environ", "missing"),
    [
        ({}, {"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({}, {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ({"mode": "http"}, {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"mode": "http", "oauth": True}, {"SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_ID"),
        ({"bot_token_env": "CITY_BOT"}, {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "x"}, "CITY_BOT"),
    ],
)
def test_missing_secret_names_the_variable(table: dict[str, object], environ: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError, match=missing):
        read_secrets(SlackSettings.from_mapping(table), environ)


def test_secrets_per_mode() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_SIGNING_SECRET": "sig",
        "SLACK_CLIENT_ID": "id",
        "SLACK_CLIENT_SECRET": "secret",
    }
    socket = read_secrets(SlackSettings.from_mapping({}), env)
    assert (socket.bot_token, socket.app_token, socket.signing_secret) == ("xoxb-1", "xapp-1", "")
    oauth = read_secrets(SlackSettings.from_mapping({"mode": "http", "oauth": True}), env)
    assert (oauth.bot_token, oauth.client_id, oauth.signing_secret) == ("", "id", "sig")
