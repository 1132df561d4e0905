"""``agora discord …``: the Discord helpers of the command line."""

from __future__ import annotations

import click

from adapters.discord.permissions import NEEDED, SCOPES, invite_url, permissions


@click.group(name="discord")
def discord_group() -> None:
    """Discord helpers: the invite link for a server."""


@discord_group.command()
@click.option(
    "--client-id",
    envvar="DISCORD_CLIENT_ID",
    required=True,
    help="Application ID from the developer portal (or DISCORD_CLIENT_ID).",
)
@click.option("--guild-id", default=None, help="Preselect this server in the invite dialog.")
@click.option(
    "--web-base",
    default="https://discord.com",
    show_default=True,
    help="Web address of the Discord-compatible server (Spacebar) that shows the invite.",
)
def invite(client_id: str, guild_id: str | None, web_base: str) -> None:
    """Print the OAuth2 URL that adds Agora to a server, with exactly the permissions it needs."""
    if not client_id.isdigit():
        raise click.BadParameter("an application id is a number", param_hint="--client-id")
    click.echo(f"Scopes: {', '.join(SCOPES)}")
    click.echo(f"Permissions (bit mask {permissions().value}):")
    for _, label, why in NEEDED:
        click.echo(f"  - {label}: {why}")
    click.echo("")
    click.echo(invite_url(client_id, guild_id=guild_id, web_base=web_base))


discord = discord_group
