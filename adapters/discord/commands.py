"""Application commands built from the core's command table, described in en/es/pt.

``/ask`` and every ``/agora <sub>`` come from :data:`bot.commands.COMMANDS`:
each :class:`~bot.commands.Arg` becomes an option (choices kept, numbers as a
ranged integer, optional ones last), descriptions come from the catalog
(``cmd.<name>``, ``arg.<name>``) through a tree translator that gives Discord
the es-ES, es-419 and pt-BR versions. A "Translate for me" message command
joins them. The callbacks hand the raw argument text back, so the core parses
Discord commands with the same parser as everyone else's.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Optional, cast

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where
from discord.app_commands import TranslationContextTypes, locale_str

from bot.commands import Arg, CommandSpec
from bot.i18n import Catalog
from bot.languages import LANGUAGE_TABLE, LANGUAGES

BASE_LANG = "en"  # the tree's own names and descriptions are the English catalog's
# Discord client locale -> catalog language for the other languages, from the core's language table.
LOCALES: dict[discord.Locale, str] = {
    discord.Locale(locale): lang.code
    for lang in LANGUAGE_TABLE
    if lang.code != BASE_LANG
    for locale in lang.discord_locales
}
_NAMES = frozenset({Where.command_name, Where.group_name, Where.parameter_name, Where.choice_name})
MAX_NAME = 32
MAX_DESCRIPTION = 100

CommandHandler = Callable[[discord.Interaction, CommandSpec, str], Awaitable[None]]
MenuHandler = Callable[[discord.Interaction, discord.Message], Awaitable[None]]


class Texts:
    """UI text by key and language, from the core's catalog (bot/locales), so every
    string Discord shows is under the catalog-completeness test."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def get(self, key: str, lang: str) -> str:
        text: str = self.catalog.t(key, lang)
        return text

    def snapshot(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        """Every language's text for ``keys``: what a command sync depends on."""
        return {lang: {key: self.get(key, lang) for key in keys} for lang in LANGUAGES}


class CatalogTranslator(app_commands.Translator):
    """Gives Discord the es/pt names and descriptions of strings tagged with a catalog key."""

    def __init__(self, texts: Texts) -> None:
        self.texts = texts

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: TranslationContextTypes
    ) -> str | None:
        lang = LOCALES.get(locale)
        key = string.extras.get("key")
        if lang is None or not isinstance(key, str):
            return None
        limit = MAX_NAME if context.location in _NAMES else MAX_DESCRIPTION
        return _clip(self.texts.get(key, lang), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text(texts: Texts, key: str, limit: int = MAX_DESCRIPTION) -> locale_str:
    return locale_str(_clip(texts.get(key, "en"), limit), key=key)


def _annotation(arg: Arg) -> Any:
    kind: Any = app_commands.Range[int, 1, 3650] if arg.kind == "int" else str
    return kind if arg.required else Optional[kind]  # noqa: UP045 - discord.py inspects typing.Optional


def args_text(spec: CommandSpec, values: Mapping[str, Any]) -> str:
    """The raw argument text the core parses: ``question`` for /ask, ``sub args…`` for /agora."""
    words = [str(values[a.name]).strip() for a in spec.args if values.get(a.name) not in (None, "")]
    if spec.group:
        words.insert(0, spec.name)
    return " ".join(words)


def _callback(spec: CommandSpec, handler: CommandHandler, texts: Texts) -> Callable[..., Awaitable[None]]:
    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await handler(interaction, spec, args_text(spec, values))

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for arg in spec.args:
        default = inspect.Parameter.empty if arg.required else None
        params.append(
            inspect.Parameter(arg.name, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(arg), default=default)
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__qualname__ = callback.__name__ = spec.path.replace(" ", "_")
    described = app_commands.describe(**{a.name: _text(texts, "arg." + a.name) for a in spec.args})(callback)
    choices = {a.name: [app_commands.Choice(name=c, value=c) for c in a.choices] for a in spec.args if a.choices}
    if choices:
        described = app_commands.choices(**choices)(described)
    return app_commands.guild_only()(described)


def build_tree(
    client: discord.Client,
    specs: Sequence[CommandSpec],
    texts: Texts,
    on_command: CommandHandler,
    on_translate: MenuHandler,
) -> app_commands.CommandTree[Any]:
    """The command tree: /ask, the /agora group, and the "Translate for me" message command."""
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    groups: dict[str, app_commands.Group] = {}
    for spec in specs:
        callback = cast(Any, _callback(spec, on_command, texts))
        command: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=spec.name, description=_text(texts, spec.help_key), callback=callback
        )
        if spec.group is None:
            tree.add_command(command)
            continue
        if spec.group not in groups:
            groups[spec.group] = app_commands.Group(
                name=spec.group, description=_text(texts, f"cmd.{spec.group}"), guild_only=True
            )
            tree.add_command(groups[spec.group])
        groups[spec.group].add_command(command)

    async def translate_for_me(interaction: discord.Interaction, message: discord.Message) -> None:
        await on_translate(interaction, message)

    menu: app_commands.ContextMenu = app_commands.ContextMenu(
        name=_text(texts, "menu.translate", MAX_NAME), callback=app_commands.guild_only()(translate_for_me)
    )
    tree.add_command(menu)
    return tree


def menu_name(texts: Texts) -> str:
    """The English name of the message command (what Discord sends back in interactions)."""
    return _clip(texts.get("menu.translate", "en"), MAX_NAME)


def fingerprint(tree: app_commands.CommandTree[Any], texts: Texts, specs: Sequence[CommandSpec]) -> str:
    """A hash of everything a sync sends, so a restart with nothing changed does not sync again."""
    payloads = [cmd.to_dict(tree) for cmd in tree.get_commands()]
    keys = ["menu.translate", *{f"cmd.{s.group}" for s in specs if s.group}]
    keys += [s.help_key for s in specs] + [f"arg.{a.name}" for s in specs for a in s.args]
    blob = json.dumps({"commands": payloads, "texts": texts.snapshot(sorted(set(keys)))}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
