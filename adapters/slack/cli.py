"""``agora slack …``: operator commands for the Slack app."""

from __future__ import annotations

import json

import click

from adapters.slack.manifest import build_manifest, default_redirect
from bot.commands import COMMANDS
from bot.i18n import default_catalog


@click.group()
def slack() -> None:
    """Slack app set-up."""


@slack.command()
@click.option("--http", "http_url", metavar="URL", help="Agora's public events URL (HTTP mode); omit for Socket Mode.")
@click.option(
    "--oauth", is_flag=True, help="Add the OAuth redirect URL for installs in many workspaces (needs --http)."
)
@click.option("--redirect-path", default="/slack/oauth_redirect", show_default=True, help="OAuth redirect path.")
@click.option("--name", default=None, help="App and bot display name (default Agora).")
def manifest(http_url: str | None, oauth: bool, redirect_path: str, name: str | None) -> None:
    """Print the Slack app manifest (JSON) built from Agora's command table.

    Paste it at https://api.slack.com/apps → Create New App → From a manifest.
    """
    if oauth and not http_url:
        raise click.UsageError("--oauth needs --http URL: OAuth installs only work in HTTP mode")
    redirect = default_redirect(http_url, redirect_path) if (oauth and http_url) else None
    data = build_manifest(COMMANDS, default_catalog(), http_url=http_url, redirect_url=redirect, name=name)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
