"""The matching rules of notes/tagging.md, one behaviour per test."""

from __future__ import annotations

import pytest

from bot.topics import Tagger, TagResult, fold


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def tags(tagger: Tagger, text: str, lang: str) -> tuple[str, ...]:
    return tagger.tag(text, lang).topics


# -- es/pt "clima" and "calor" -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("¿Cómo está el clima por allá hoy? Acá no para de llover", "es"),
        ("Qué buen clima hubo en la sesión de trabajo con el equipo de planeación", "es"),
        ("O clima da reunião de ontem foi ótimo, obrigado a todos pela conversa", "pt"),
        ("Que calor faz hoje aqui em Teresina, nem o ventilador da sala aguenta", "pt"),
        ("¡Qué calor hace hoy en Mérida! No se puede trabajar en esta oficina", "es"),
    ],
)
def test_clima_and_calor_alone_are_not_climate(tagger: Tagger, text: str, lang: str) -> None:
    assert "climate" not in tags(tagger, text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Estamos armando el plan de acción climática con metas de reducción para 2030", "es"),
        ("La ola de calor de mayo nos obligó a abrir refugios en las escuelas", "es"),
        ("Alguém já fez o plano de adaptação às mudanças climáticas com foco nas periferias?", "pt"),
        ("Mapeamos as ilhas de calor da cidade com imagens de satélite", "pt"),
    ],
)
def test_climate_phrases_are_climate(tagger: Tagger, text: str, lang: str) -> None:
    assert "climate" in tags(tagger, text, lang)


# -- "red" / "rede" ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Se cayó la red en la alcaldía y no puedo abrir los archivos compartidos", "es"),
        ("Bienvenidos a la red a los colegas de Rosario, ya somos doce ciudades", "es"),
        ("A rede caiu de novo aqui na secretaria, alguém me manda o arquivo por e-mail?", "pt"),
    ],
)
def test_red_and_rede_alone_are_not_digital_equity(tagger: Tagger, text: str, lang: str) -> None:
    assert tags(tagger, text, lang) == ()


def test_access_phrases_are_digital_equity(tagger: Tagger) -> None:
    assert "digital-equity" in tags(tagger, "Llevamos banda ancha y wifi gratuito a las colonias del oriente", "es")
    assert "digital-equity" in tags(tagger, "A prefeitura levou banda larga para as escolas da zona rural", "pt")


# -- IA vs ia, AI vs aí --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Eu ia perguntar exatamente isso na reunião de ontem, valeu pela resposta", "pt"),
        ("Aí pessoal, alguém sabe se o encontro de amanhã vai ser presencial?", "pt"),
        ("Ai, esqueci de mandar a planilha para a equipe de vocês, mando amanhã cedo", "pt"),
        ("EU IA PERGUNTAR ISSO AGORA MESMO NA REUNIÃO DA TARDE", "pt"),
    ],
)
def test_ia_as_a_portuguese_word_is_not_ai(tagger: Tagger, text: str, lang: str) -> None:
    assert "ai" not in tags(tagger, text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("A gente está usando IA para resumir as demandas que chegam pela ouvidoria", "pt"),
        ("¿Alguna alcaldía ya publicó lineamientos para usar ia generativa en los trámites?", "es"),
        ("Queremos usar ia para contestar las preguntas frecuentes de los vecinos", "es"),
        ("Drafting guidance on AI use for staff, anyone have a template?", "en"),
    ],
)
def test_ia_and_ai_as_acronyms_are_ai(tagger: Tagger, text: str, lang: str) -> None:
    assert "ai" in tags(tagger, text, lang)


def test_lowercase_spanish_ia_counts_only_in_spanish(tagger: Tagger) -> None:
    text = "usamos ia para resumir las actas de las sesiones del concejo municipal"
    assert "ai" in tags(tagger, text, "es")
    assert "ai" not in tags(tagger, text, "pt")


# -- calle, modelo, renta/renda ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ando en la calle, ahorita les contesto con más calma", "es"),
        ("Nos vemos en la calle Corrientes a las 10, frente a la municipalidad", "es"),
    ],
)
def test_calle_alone_is_not_homelessness(tagger: Tagger, text: str, lang: str) -> None:
    assert tags(tagger, text, lang) == ()


@pytest.mark.parametrize(
    "text",
    [
        "¿Alguien tiene un protocolo de invierno para personas en situación de calle?",
        "¿Alguien tiene un protocolo de invierno para personas en situacion de calle?",
        "¿Alguien tiene un protocolo de invierno para PERSONAS EN SITUACIÓN DE CALLE?",
        "Los habitantes de calle de la zona centro piden más albergues",
    ],
)
def test_situacion_de_calle_with_or_without_accents_is_homelessness(tagger: Tagger, text: str) -> None:
    assert "homelessness" in tags(tagger, text, "es")


def test_modelo_alone_is_not_ai(tagger: Tagger) -> None:
    assert tags(tagger, "Les paso el modelo de oficio para pedir la información, usen ese formato", "es") == ()


def test_renta_and_renda_as_income_are_not_housing(tagger: Tagger) -> None:
    assert "housing" not in tags(tagger, "¿Cómo calculan la renta per cápita de cada municipio para el índice?", "es")
    assert "housing" not in tags(tagger, "As famílias de baixa renda são 60% do cadastro do programa", "pt")
    assert "housing" in tags(tagger, "O aluguel social paga parte do aluguel das famílias despejadas", "pt")


# -- seguridad / segurança variants --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "topic"),
    [
        ("Necesitamos capacitar al personal en seguridad informática este año", "es", "cybersecurity"),
        ("Buscamos un responsable de seguridad de la información para el municipio", "es", "cybersecurity"),
        ("El plan de seguridad ciudadana se enfoca en prevención en los barrios", "es", "public-safety"),
        ("La seguridad pública es la primera preocupación de los vecinos del centro", "es", "public-safety"),
        ("La seguridad vial es nuestro mayor reto en las avenidas principales", "es", "transportation"),
        ("Tivemos um incidente de segurança da informação no sistema da prefeitura", "pt", "cybersecurity"),
        ("O novo plano municipal de segurança pública foi aprovado ontem na câmara", "pt", "public-safety"),
        ("Quais ações de segurança viária reduziram os atropelamentos nas avenidas?", "pt", "transportation"),
    ],
)
def test_seguridad_variants_pick_their_topic(tagger: Tagger, text: str, lang: str, topic: str) -> None:
    assert topic in tags(tagger, text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Sobre la seguridad del evento presencial: habrá registro en la entrada", "es"),
        ("Sobre a segurança do evento presencial: vai ter credenciamento na entrada", "pt"),
    ],
)
def test_seguridad_alone_is_no_topic(tagger: Tagger, text: str, lang: str) -> None:
    assert tags(tagger, text, lang) == ()


def test_road_deaths_add_public_safety_to_road_safety(tagger: Tagger) -> None:
    result = tags(tagger, "Vision Zero: traffic deaths on our arterials went up again, what worked for you?", "en")
    assert set(result) == {"transportation", "public-safety"}


# -- acronyms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "topic"),
    [
        ("Did anyone do their GHG inventory in house or hire consultants?", "en", "climate"),
        ("Estamos actualizando el inventario de GEI del municipio", "es", "climate"),
        ("Alguém fez o inventário de GEE com equipe própria?", "pt", "climate"),
        ("Our PIT count is next month and we still need volunteers", "en", "homelessness"),
        ("We set aside 150 HUD vouchers last year", "en", "housing"),
        ("Can we get HMIS access for the outreach nonprofits?", "en", "homelessness"),
        ("Is everyone fully obligated on ARPA yet?", "en", "budget"),
        ("Como vocês garantiram recursos pro escritório na LOA?", "pt", "budget"),
        ("Como vocês estão tratando a LGPD nos contratos?", "pt", "data-governance"),
        ("Quantos pedidos de LAI vocês recebem por mês?", "pt", "data-governance"),
        ("Is anyone piloting an LLM for permit questions?", "en", "ai"),
        ("Our 311 app gets most requests after 6pm", "en", "resident-engagement"),
        ("Colocamos um assistente no 156 da prefeitura", "pt", "resident-engagement"),
        ("Con los datos del C5 reorganizamos los patrullajes", "es", "public-safety"),
    ],
)
def test_acronyms_tag_their_topic(tagger: Tagger, text: str, lang: str, topic: str) -> None:
    assert topic in tags(tagger, text, lang)


def test_acronyms_are_case_sensitive(tagger: Tagger) -> None:
    assert "homelessness" not in tags(tagger, "we fell into the pit of endless meetings again this week", "en")
    assert "homelessness" in tags(tagger, "we fell behind on the PIT planning again this week", "en")
    assert "budget" not in tags(tagger, "la loa a la bandera es a las nueve en la plaza central", "es")


def test_acronym_inside_a_word_does_not_count(tagger: Tagger) -> None:
    assert "ai" not in tags(tagger, "The FAIR principles for the open data portal datasets", "en")


def test_a_bare_number_is_not_the_156_service_line(tagger: Tagger) -> None:
    assert "resident-engagement" not in tags(tagger, "Atendemos 156 famílias no programa de aluguel social", "pt")


# -- exclusions, negation, chatter, short messages ----------------------------------------------


def test_shelter_in_place_is_not_homelessness(tagger: Tagger) -> None:
    assert "homelessness" not in tags(tagger, "During the chemical fire we issued a shelter in place order", "en")
    assert "homelessness" in tags(tagger, "We added 200 emergency shelter beds for the winter", "en")


def test_political_climate_is_not_climate(tagger: Tagger) -> None:
    assert "climate" not in tags(tagger, "In the current political climate it is hard to pass anything new", "en")


def test_lacking_budget_is_context_not_topic(tagger: Tagger) -> None:
    result = tags(tagger, "Estamos sem orçamento pra consultoria do inventário de GEE", "pt")
    assert "budget" not in result
    assert "climate" in result


def test_negated_topic_does_not_count(tagger: Tagger) -> None:
    text = "Not an AI question for once: does anyone have a template data sharing agreement?"
    assert tags(tagger, text, "en") == ("data-governance",)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("sorry, stuck in traffic on the bus, will jump on the call 10 min late", "en"),
        ("I'll be at the Housing Authority offsite all day so slow replies from me", "en"),
        ("peguei o ônibus errado, chego uns 15 min atrasada na call", "pt"),
        ("¿La llamada del jueves sobre presupuesto es a las 10 hora de México?", "es"),
    ],
)
def test_logistics_with_weak_evidence_is_untagged(tagger: Tagger, text: str, lang: str) -> None:
    assert tags(tagger, text, lang) == ()


def test_logistics_marker_does_not_hide_strong_evidence(tagger: Tagger) -> None:
    text = "Thanks so much! We used ARPA money for 200 winter shelter beds and the funds run out next year"
    assert set(tags(tagger, text, "en")) >= {"homelessness", "budget"}


def test_short_message_needs_strong_evidence(tagger: Tagger) -> None:
    assert tags(tagger, "budget?", "en") == ()
    assert tags(tagger, "ARPA deadline?", "en") == ("budget",)
    assert tags(tagger, "open data portal?", "en") == ("data-governance",)


# -- result shape --------------------------------------------------------------------------------


def test_result_is_ordered_capped_and_explained(tagger: Tagger) -> None:
    text = (
        "We used ARPA funds for a Housing First pilot for homeless residents, ran town halls and a survey, "
        "added free wifi in the shelters, and the police department now sends a crisis team instead of officers."
    )
    result = tagger.tag(text, "en")
    assert isinstance(result, TagResult)
    assert 1 <= len(result.topics) <= 3
    ranked = [result.scores[slug] for slug in result.topics]
    assert ranked == sorted(ranked, reverse=True)
    assert len(result.scores) > 3  # scores keep the topics the cap dropped
    for slug in result.topics:
        assert result.evidence[slug]


def test_evidence_names_the_matched_phrase(tagger: Tagger) -> None:
    result = tagger.tag("Queremos un censo de personas en situacion de calle", "es")
    assert result.topics == ("homelessness",)
    assert any("situación de calle" in phrase for phrase in result.evidence["homelessness"])


@pytest.mark.parametrize("text", ["", "   ", "👍🙏", "ok", "https://example.org"])
def test_empty_or_contentless_text_has_no_topics(tagger: Tagger, text: str) -> None:
    assert tagger.tag(text, "en").topics == ()


def test_unknown_language_still_tags(tagger: Tagger) -> None:
    assert "homelessness" in tagger.tag("New winter shelter beds for homeless residents", "fr").topics


def test_fold_strips_accents_and_case() -> None:
    assert fold("SITUACIÓN") == "situacion"
    assert fold("Não") == "nao"
    assert fold("ciberseguridad") == "ciberseguridad"
