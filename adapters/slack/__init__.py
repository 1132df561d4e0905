"""Slack adapter: city channels in Slack workspaces, through slack-bolt.

Configured by the ``[adapters.slack]`` table of config.toml; every key is optional::

    [adapters.slack]
    enabled = true
    mode = "socket"            # "socket" (app token, no public URL) or "http" (signing secret)
    api_url = "https://slack.com/api/"   # Web API base; GovSlack: "https://slack-gov.com/api/".
                               # Every Web API call and the Socket Mode connection go through it.
    http_host = "127.0.0.1"    # HTTP mode: where Agora listens (put a TLS proxy in front)
    http_port = 3000
    http_path = "/slack/events"          # events, slash commands and shortcuts all POST here
    oauth = false              # HTTP mode only: many workspaces install the app through OAuth
    install_path = "/slack/install"      # OAuth: the "Add to Slack" page
    redirect_path = "/slack/oauth_redirect"
    redirect_uri = ""          # OAuth: the public redirect URL, if Slack needs it spelled out
    authorize_url = ""         # OAuth: defaults to <api host>/oauth/v2/authorize
    relay_bots = false         # relay other bots' posts too (default: [agora] relay_bots)
    pace = 1.0                 # seconds between posts in one channel (Slack: about 1 message/s)
    catchup_hours = 24         # at start, relay what was posted while down, at most this far back
    catchup_threads = 50       # known threads per channel checked for replies during catch-up
    timeout = 30               # seconds per Web API call
    max_file_mb = 100          # largest file uploaded with a copy (1-1024; Slack's own limit is 1 GB)
    bot_token_env = "SLACK_BOT_TOKEN"          # names of the environment variables holding secrets
    app_token_env = "SLACK_APP_TOKEN"
    signing_secret_env = "SLACK_SIGNING_SECRET"
    client_id_env = "SLACK_CLIENT_ID"
    client_secret_env = "SLACK_CLIENT_SECRET"

Secrets come only from the environment: Socket Mode needs SLACK_BOT_TOKEN and
SLACK_APP_TOKEN; HTTP mode SLACK_SIGNING_SECRET plus SLACK_BOT_TOKEN (one
workspace) or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (``oauth = true``).
``agora slack manifest`` prints the app manifest. README.md beside this file
is the operator's guide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.slack.adapter import SlackAdapter
from adapters.slack.settings import SlackSettings
from bot.ports import AdapterContext

__all__ = ["SlackAdapter", "SlackSettings", "create"]


def create(config: Mapping[str, Any], context: AdapterContext) -> SlackAdapter:
    """Entry point ``agora.adapters: slack``; ConfigError names a bad key."""
    # ``[agora] relay_bots`` is the switch; the adapter table may override it for Slack alone.
    return SlackAdapter(SlackSettings.from_mapping({"relay_bots": context.relay_bots, **config}), context)
