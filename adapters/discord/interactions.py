"""Slash commands and the "Translate for me" message command: registered, then answered.

The command tree comes from the core's command table (commands.py). It is
registered where the settings say (each guild, globally, or not at all), once
per scope and command fingerprint, so a restart with the same commands does not
sync again. Each interaction is acknowledged first (Discord allows three
seconds; translation may take longer), then handed to the core as a
CommandInvoked or TranslateRequest whose ``reply`` posts follow-ups, ephemeral
when the answer is, pinging nobody, split at Discord's 2,000 characters, a
chart as a file on the last part. This module imports nothing from adapter.py:
it needs only the few members of :class:`InteractionsHost`.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Protocol

import aiohttp
import discord
from discord import app_commands

from adapters.discord.commands import CatalogTranslator, Texts, build_tree, fingerprint
from adapters.discord.convert import Where, author_of, text_of
from adapters.discord.markup import render
from adapters.discord.settings import Settings
from adapters.discord.tables import Tables
from bot.commands import CommandSpec
from bot.events import CommandInvoked, Event, Replier, Reply, TranslateRequest
from bot.ports import AdapterContext
from bot.richtext import RichText, plain, split

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()


class InteractionsHost(Protocol):
    """What commands need of the Discord adapter."""

    settings: Settings
    context: AdapterContext
    tables: Tables
    max_text: int

    async def where(self, guild_id: int, channel: object) -> Where | None: ...
    async def deliver(self, event: Event, message_id: int | None = None) -> None: ...
    def refresh_linked(self) -> None: ...


class Interactions:
    """The command tree of one Discord adapter, its registration and its callbacks."""

    def __init__(self, host: InteractionsHost) -> None:
        self.host = host
        self.texts = Texts(host.context.catalog)
        self.tree: app_commands.CommandTree[Any] | None = None

    def build(self, client: discord.Client) -> None:
        """The tree for a new client (its callbacks are this object's)."""
        self.tree = build_tree(client, self.host.context.commands, self.texts, self.on_command, self.on_translate)

    async def set_translator(self) -> None:
        """Command names and descriptions in every catalog language, before the first sync."""
        assert self.tree is not None
        await self.tree.set_translator(CatalogTranslator(self.texts))

    async def sync(self, client: discord.Client) -> None:
        """Register the commands where the settings say."""
        settings = self.host.settings
        if settings.sync == "off" or self.tree is None:
            return
        if settings.sync == "global":
            await self._sync_scope("global", None)
            return
        for guild_id in settings.guild_ids or [g.id for g in client.guilds]:
            await self.sync_guild(guild_id)

    async def sync_guild(self, guild_id: int) -> None:
        assert self.tree is not None
        guild = discord.Object(guild_id)
        self.tree.copy_global_to(guild=guild)
        await self._sync_scope(f"guild:{guild_id}", guild)

    async def _sync_scope(self, scope: str, guild: discord.Object | None) -> None:
        assert self.tree is not None
        tables = self.host.tables
        stamp = fingerprint(self.tree, self.texts, self.host.context.commands)
        if tables.synced(scope) == stamp:
            return
        try:
            synced = await self.tree.sync(guild=guild)
        except Exception as exc:  # relaying goes on without commands
            missing_scope = isinstance(exc, discord.HTTPException) and (exc.status == 403 or exc.code == 50001)
            hint = (
                "; was the bot invited with the applications.commands scope? (agora discord invite)"
                if missing_scope
                else ""
            )
            log.error("could not register Agora's commands (%s): %r%s", scope, exc, hint)
            return
        tables.save_sync(scope, stamp)
        log.info("registered %d discord commands (%s)", len(synced), scope)

    async def on_command(self, interaction: discord.Interaction, spec: CommandSpec, args: str) -> None:
        if not await self._defer(interaction, spec.ephemeral):
            return
        where = await self._where(interaction)
        if where is None:
            return
        event = CommandInvoked(
            channel=where[0],
            author=author_of(interaction.user),
            name=spec.group or spec.name,
            args=args,
            reply=self._replier(interaction),
            locale=interaction.locale.value,
            can_manage=interaction.permissions.manage_channels,
            thread_id=where[1],
        )
        await self.host.deliver(event)
        self.host.refresh_linked()

    async def on_translate(self, interaction: discord.Interaction, message: discord.Message) -> None:
        if not await self._defer(interaction, True):
            return
        where = await self._where(interaction)
        if where is None:
            return
        event = TranslateRequest(
            where[0],
            author_of(interaction.user),
            text_of(message),
            self._replier(interaction),
            locale=interaction.locale.value,
        )
        await self.host.deliver(event)

    async def _defer(self, interaction: discord.Interaction, ephemeral: bool) -> bool:
        """Acknowledge first (Discord allows 3 s); the answer follows when the core has it."""
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("could not acknowledge a discord command: %r", exc)
            return False
        except Exception as exc:  # the server said yes but its answer is unreadable (Spacebar: an empty body)
            log.debug("discord acknowledged a command with an answer discord.py cannot read: %r", exc)
        return True

    async def _where(self, interaction: discord.Interaction) -> Where | None:
        if interaction.guild_id is None or interaction.channel is None:
            return None
        return await self.host.where(interaction.guild_id, interaction.channel)

    def _replier(self, interaction: discord.Interaction) -> Replier:
        async def reply(answer: Reply) -> None:
            parts = split(answer.text, self.host.max_text, measure=_measure) or [plain("…")]
            for n, part in enumerate(parts):
                options: dict[str, Any] = {"ephemeral": answer.ephemeral, "allowed_mentions": NO_PINGS}
                if answer.image is not None and n == len(parts) - 1:
                    options["file"] = discord.File(io.BytesIO(answer.image), filename=answer.image_name or "agora.png")
                try:
                    await interaction.followup.send(render(part) or discord.utils.MISSING, **options)
                except Exception as exc:
                    log.warning("could not answer a discord command: %r", exc)
                    return

        return reply


def _measure(rt: RichText) -> int:
    return len(render(rt))
