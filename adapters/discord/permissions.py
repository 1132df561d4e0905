"""Exactly the permissions Agora asks for when it is invited to a server, and why.

The invite URL carries the bit mask, computed by discord.py from these flag
names, so the list shown to the operator and the mask cannot disagree.
"""

from __future__ import annotations

from urllib.parse import urlencode

import discord

SCOPES = ("bot", "applications.commands")

# (discord.Permissions flag, what the server admin sees, why Agora needs it)
NEEDED: tuple[tuple[str, str, str], ...] = (
    ("view_channel", "View Channels", "see the linked city channels"),
    ("send_messages", "Send Messages", "answer commands and post copies"),
    ("send_messages_in_threads", "Send Messages in Threads", "relay answers into question threads"),
    ("create_public_threads", "Create Public Threads", "open a thread for every relayed question"),
    ("manage_webhooks", "Manage Webhooks", "post copies under each author's name and avatar"),
    ("read_message_history", "Read Message History", "catch up on messages missed while offline"),
    ("attach_files", "Attach Files", "post the hot-topics chart"),
    ("embed_links", "Embed Links", "show previews of relayed links"),
)


def permissions() -> discord.Permissions:
    """The permission set Agora needs, and nothing more."""
    return discord.Permissions(**{flag: True for flag, _, _ in NEEDED})


def invite_url(client_id: str, *, guild_id: str | None = None, web_base: str = "https://discord.com") -> str:
    """The OAuth2 URL a server admin opens to add Agora (bot + slash commands)."""
    query = {"client_id": client_id, "scope": " ".join(SCOPES), "permissions": str(permissions().value)}
    if guild_id:
        query["guild_id"] = guild_id
    return f"{web_base.rstrip('/')}/oauth2/authorize?{urlencode(query)}"
