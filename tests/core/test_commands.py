from __future__ import annotations

import pytest

from bot import commands
from bot.errors import CommandError
from bot.events import ChannelRef
from bot.i18n import Catalog
from bot.richtext import to_plain
from tests.core.conftest import BOSTON, GDL, RECIFE, Harness
from tests.database import dump as dump_database

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

NEW = ChannelRef("fake", "t2", "quito")
OTHER = ChannelRef("fake", "t3", "lima")


def dump(h: Harness) -> str:
    return dump_database(h.agora.db)


def test_every_catalog_has_every_key_with_the_same_placeholders() -> None:
    catalog = Catalog.load()
    keys = {lang: set(table) for lang, table in catalog.strings.items()}
    assert keys["en"] == keys["es"] == keys["pt"]
    for key in keys["en"]:
        assert catalog.placeholders(key, "en") == catalog.placeholders(key, "es") == catalog.placeholders(key, "pt"), (
            key
        )
    for spec in commands.COMMANDS:
        assert spec.help_key in keys["en"]
        for arg in spec.args:
            assert f"arg.{arg.name}" in keys["en"]


def test_every_error_key_raised_by_the_parser_exists() -> None:
    catalog = Catalog.load()
    for name, args in [
        ("agora", "nope"),
        ("agora", "lang fr"),
        ("agora", "topics x"),
        ("agora", "lang"),
        ("agora", "unlink extra"),
        ("shout", ""),
    ]:
        with pytest.raises(CommandError) as err:
            commands.parse(name, args)
        assert err.value.key in catalog.strings["en"]


def test_parse_binds_typed_arguments() -> None:
    parsed = commands.parse("agora", "link wwc AB12CD Porto Alegre")
    assert parsed.values == {"network": "wwc", "code": "AB12CD", "city": "Porto Alegre"}
    assert commands.parse("agora", "topics 30").values == {"days": 30}
    assert commands.parse("agora", 'subscribe ai "public-safety"').values == {"topics": ("ai", "public-safety")}
    assert commands.parse("agora", "").spec.name == "help"
    assert commands.parse("ask", "  where?  ").values == {"question": "where?"}


@pytest.mark.parametrize(
    ("channel", "text", "locale", "expected"),
    [
        (GDL, "/ask", None, "Falta question"),
        (RECIFE, "/ask    ", None, "Falta question"),
        (GDL, "/agora frobnicate", None, "No conozco el comando /agora frobnicate"),
        (RECIFE, "/agora lang fr", None, "fr não é um valor válido"),
        (BOSTON, "/agora topics lots", None, "lots is not a valid number"),
        (NEW, "/ask anyone?", None, "not linked to a network yet"),
        (NEW, "/ask anyone?", "pt-BR", "não está vinculado"),
        (GDL, "/agora subscribe dragons", None, "Tema desconocido: dragons"),
        (BOSTON, "/agora original 999", None, "can't find message 999"),
        (GDL, "/agora link otra", None, "ya está vinculado a demo"),
    ],
)
async def test_bad_input_gets_a_clear_error_in_the_callers_language_and_changes_nothing(
    harness: Harness, channel: ChannelRef, text: str, locale: str | None, expected: str
) -> None:
    before = dump(harness)
    reply = await harness.command(channel, text, locale=locale)
    assert expected in to_plain(reply.text)
    assert reply.ephemeral
    await harness.drain()
    assert dump(harness) == before
    assert not any(harness.adapter.posts.values())


async def test_over_long_questions_are_refused(harness: Harness) -> None:
    before = dump(harness)
    reply = await harness.command(BOSTON, "/ask " + "x" * 13000)
    assert "too long (13000 characters; the limit is 12000)" in to_plain(reply.text)
    assert dump(harness) == before


async def test_first_link_creates_the_network_and_reveals_its_code(harness: Harness) -> None:
    reply = await harness.command(NEW, "/agora link andes Quito", locale="es-419")
    text = to_plain(reply.text)
    network = harness.agora.store.network("andes")
    assert network is not None and network.join_code in text
    assert harness.agora.store.channel(NEW).city == "Quito"  # type: ignore[union-attr]
    # Wrong code or no rights: nothing changes.
    before = dump(harness)
    wrong = await harness.command(OTHER, "/agora link andes WRONGCODE Lima", locale="es")
    assert "no corresponde a la red andes" in to_plain(wrong.text)
    no_code = await harness.command(OTHER, "/agora link andes", locale="es")
    assert "agrega su código" in to_plain(no_code.text)
    no_rights = await harness.command(OTHER, f"/agora link andes {network.join_code} Lima", can_manage=False)
    assert "Only people who can manage this channel" in to_plain(no_rights.text)
    assert dump(harness) == before
    ok = await harness.command(OTHER, f"/agora link andes {network.join_code.lower()} Lima", locale="es")
    assert "vinculado a andes, con 1 canales más" in to_plain(ok.text)
    # Linked channels now relay to each other, and only to each other.
    await harness.command(NEW, "/ask ¿Cómo financian los albergues?")
    await harness.drain()
    assert len(harness.adapter.posts[OTHER]) == 1 and not harness.adapter.posts[BOSTON]


async def test_unlink_lang_mode_and_status(harness: Harness) -> None:
    status = to_plain((await harness.command(GDL, "/agora status", locale="es")).text)
    assert "Red: demo (3 canales)" in status and "Código de acceso: DEMOCODE" in status
    hidden = to_plain((await harness.command(GDL, "/agora status", can_manage=False)).text)
    assert "DEMOCODE" not in hidden
    assert "português" in to_plain((await harness.command(GDL, "/agora lang pt")).text)
    assert harness.agora.store.channel(GDL).lang == "pt"  # type: ignore[union-attr]
    await harness.command(GDL, "/agora unlink")
    assert harness.agora.store.channel(GDL) is None
    await harness.command(BOSTON, "/ask Still there?")
    await harness.drain()
    assert not harness.adapter.posts[GDL]


async def test_help_lists_every_command_in_the_callers_language(harness: Harness) -> None:
    text = to_plain((await harness.command(RECIFE, "/agora help")).text)
    assert text.startswith("O Agora retransmite")
    for spec in commands.COMMANDS:
        assert spec.usage() in text


async def test_original_shows_the_message_in_its_language(harness: Harness) -> None:
    await harness.command(GDL, "/ask ¿Qué ciudades usan presupuesto participativo?")
    reply = await harness.command(BOSTON, "/agora original #1")
    text = to_plain(reply.text)
    assert "#1, by Ana (Guadalajara), in Spanish:" in text
    assert "¿Qué ciudades usan presupuesto participativo?" in text


async def test_glossary_terms_are_added_listed_removed(harness: Harness) -> None:
    await harness.command(BOSTON, '/agora glossary add Housing First es="Vivienda Primero" pt=Moradia Primeiro')
    listed = to_plain((await harness.command(BOSTON, "/agora glossary list")).text)
    assert "Housing First (es=Vivienda Primero, pt=Moradia Primeiro)" in listed
    assert harness.agora.store.glossary("demo") == [
        ("Housing First", {"es": "Vivienda Primero", "pt": "Moradia Primeiro"})
    ]
    gone = to_plain((await harness.command(BOSTON, "/agora glossary remove Housing First")).text)
    assert "Removed Housing First" in gone
    missing = to_plain((await harness.command(BOSTON, "/agora glossary remove HUD")).text)
    assert "has no term HUD" in missing
