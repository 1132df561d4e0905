"""The application commands Discord receives: built from the spec table, localised, synced once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.discord.commands import args_text
from bot.commands import COMMANDS, CommandSpec, find
from bot.i18n import default_catalog
from tests.discord.conftest import World

Connect = Callable[..., Any]
LOCALES = ("es-ES", "es-419", "pt-BR")


def synced(world: World) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in world.fake.commands[f"guild:{world.guild}"]}


async def test_every_spec_becomes_a_command_with_its_options(world: World, connect: Connect) -> None:
    await connect()
    commands = synced(world)
    assert set(commands) == {"ask", "agora", "Translate for me"}
    ask = commands["ask"]
    assert [o["name"] for o in ask["options"]] == [a.name for a in find("ask").args]  # type: ignore[union-attr]
    assert ask["contexts"] == [0]  # guilds only
    subs = {o["name"]: o for o in commands["agora"]["options"]}
    assert set(subs) == {s.name for s in COMMANDS if s.group == "agora"}
    assert all(o["type"] == 1 for o in subs.values())
    lang = {o["name"]: o for o in subs["lang"]["options"]}["language"]
    assert [c["value"] for c in lang["choices"]] == ["en", "es", "pt"] and lang["required"]
    days = {o["name"]: o for o in subs["topics"]["options"]}["days"]
    assert days["type"] == 4 and not days["required"] and (days["min_value"], days["max_value"]) == (1, 3650)
    for spec in COMMANDS:
        if spec.group:
            options = [o["name"] for o in subs[spec.name].get("options", [])]
            required = [a.name for a in spec.args if a.required]
            assert options[: len(required)] == required  # Discord wants required options first
    assert commands["Translate for me"]["type"] == 3


async def test_descriptions_come_from_the_catalog_in_three_languages(world: World, connect: Connect) -> None:
    await connect()
    catalog = default_catalog()
    commands = synced(world)
    ask = commands["ask"]
    assert ask["description"] == catalog.t("cmd.ask", "en")[:100]
    assert ask["description_localizations"] == {
        "es-ES": catalog.t("cmd.ask", "es")[:100],
        "es-419": catalog.t("cmd.ask", "es")[:100],
        "pt-BR": catalog.t("cmd.ask", "pt")[:100],
    }
    question = ask["options"][0]
    assert question["description_localizations"]["pt-BR"] == catalog.t("arg.question", "pt")[:100]
    menu = commands["Translate for me"]
    assert menu["name_localizations"] == {
        "es-ES": "Traducir para mí",
        "es-419": "Traducir para mí",
        "pt-BR": "Traduzir para mim",
    }
    for command in commands.values():
        for text in [command.get("description", ""), *(command.get("description_localizations") or {}).values()]:
            assert len(text) <= 100
        assert set(command.get("description_localizations") or {}) <= set(LOCALES)


async def test_a_restart_with_the_same_commands_does_not_sync_again(world: World, connect: Connect) -> None:
    first, _ = await connect()
    await first.stop()
    await connect()
    puts = [c for c in world.fake.calls if c[0] == "PUT"]
    assert len(puts) == 1


async def test_global_sync_and_no_sync(world: World, connect: Connect) -> None:
    first, _ = await connect(sync="off")
    assert world.fake.commands == {}
    await first.stop()  # a second adapter on the same database while the first runs would be its standby
    await connect(sync="global")
    assert {c["name"] for c in world.fake.commands["global"]} == {"ask", "agora", "Translate for me"}


@pytest.mark.parametrize(
    ("path", "values", "expected"),
    [
        ("ask", {"question": "  Where do we start?  "}, "Where do we start?"),
        ("agora link", {"network": "wwc", "code": None}, "link wwc"),
        ("agora topics", {"days": 30}, "topics 30"),
        ("agora status", {}, "status"),
        ("agora glossary", {"action": "add", "term": "HUD es=HUD"}, "glossary add HUD es=HUD"),
    ],
)
def test_options_become_the_raw_text_the_core_parses(path: str, values: dict[str, Any], expected: str) -> None:
    spec = find(path)
    assert isinstance(spec, CommandSpec)
    assert args_text(spec, values) == expected
