"""Glossary: which terms are found, how they render, and that the argos and none backends respect them.

(The apertium and libretranslate glossary tests live with those backends.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.ports import GlossaryTerm
from bot.richtext import plain, to_plain
from tests.fixtures.translation_helpers import argos_config
from translations import create
from translations.cache import MemoryCache
from translations.glossary import Glossary, Hit, Term


def hits(text: str, network: tuple[GlossaryTerm, ...] = ()) -> list[str]:
    return [p.written for p in Glossary.load().matcher(network).split(text) if isinstance(p, Hit)]


def test_shipped_terms_are_found_whole_and_case_sensitively_for_acronyms() -> None:
    assert hits("Our PIT count and HUD vouchers; call 311.") == ["PIT", "HUD", "311"]
    assert hits("a pit, a hud, 3110 and 1311") == []  # lower case words and longer numbers are not terms
    assert hits("Dados do CadÚnico e a LGPD") == ["CadÚnico", "LGPD"]
    assert hits("Housing  First works") == ["Housing  First"]  # any spacing
    assert hits("Vivienda Primero en Ciudad de México") == ["Vivienda Primero", "Ciudad de México"]


def test_split_joins_back_to_the_text() -> None:
    text = "HUD and ARPA money in São Paulo and Mexico City!"
    parts = Glossary.load().matcher().split(text)
    assert "".join(p if isinstance(p, str) else p.written for p in parts) == text


def test_rendering_per_target_language() -> None:
    term = Term("Housing First", (("es", "Vivienda Primero"), ("pt", "Moradia Primeiro")))
    assert term.render("es") == "Vivienda Primero"
    assert term.render("pt") == "Moradia Primeiro"
    assert term.render("en") == "Housing First"
    assert Term("PIT").render("es") == "PIT"


def test_network_terms_add_to_and_override_the_shipped_ones() -> None:
    network = (
        GlossaryTerm("housing first", (("es", "Vivienda Primero"),)),  # overrides, now matched in any case
        GlossaryTerm("mesa técnica"),  # lower case: matched case-insensitively
    )
    assert hits("HOUSING FIRST y la Mesa Técnica", network) == ["HOUSING FIRST", "Mesa Técnica"]


def test_operator_glossary_file_is_layered_on_top(tmp_path: Path) -> None:
    extra = tmp_path / "glossary.toml"
    extra.write_text('[[terms]]\nterm = "Bogotá Cuidadora"\n[[terms]]\nterm = "PIT"\nes = "conteo PIT"\n')
    glossary = Glossary.load(extra)
    parts = glossary.matcher().split("the PIT count and Bogotá Cuidadora")
    found = [p for p in parts if isinstance(p, Hit)]
    assert [h.term.render("es") for h in found] == ["conteo PIT", "Bogotá Cuidadora"]
    extra.write_text('[[terms]]\nterm = "x"\nfr = "y"\n')
    with pytest.raises(ConfigError, match=r"terms\[0\]\.fr"):
        Glossary.load(extra)


async def test_argos_respects_the_glossary(argos_dir: Path) -> None:
    translator = create(argos_config(argos_dir), MemoryCache())
    network = [GlossaryTerm("world"), GlossaryTerm("mayor", (("pt", "prefeito"),))]
    result = await translator.translate(plain("hello world, the mayor and Housing First"), "en", "pt", network)
    # without the glossary the tiny model says "mundão" and "prefeita"
    assert to_plain(result.text) == "olá world, the prefeito and Moradia Primeiro"
    plain_run = await translator.translate(plain("hello world, the mayor"), "en", "pt")
    assert to_plain(plain_run.text) == "olá mundão, the prefeita"
    await translator.close()


async def test_none_backend_leaves_even_glossary_terms_alone() -> None:
    translator = create({"backend": "none"}, MemoryCache())
    rt = plain("Housing First in Mexico City")
    assert (await translator.translate(rt, "en", "es", [GlossaryTerm("x")])).text == rt
