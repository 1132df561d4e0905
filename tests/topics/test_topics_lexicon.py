"""The lexicon data: every topic fully described, names resolvable, bad data refused."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.topics import LANGS, Tagger, Topic, default_tagger

DATA = Path(__file__).resolve().parents[2] / "bot" / "data" / "topics"
SLUGS = (
    "homelessness",
    "ai",
    "climate",
    "data-governance",
    "housing",
    "budget",
    "digital-equity",
    "cybersecurity",
    "public-safety",
    "transportation",
    "resident-engagement",
)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def test_topics_are_the_design_slugs_in_design_order(tagger: Tagger) -> None:
    assert tuple(topic.slug for topic in tagger.topics) == SLUGS
    assert all(isinstance(topic, Topic) for topic in tagger.topics)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_topic_has_names_and_a_lexicon_in_every_language(tagger: Tagger, slug: str) -> None:
    data = tomllib.loads((DATA / f"{slug}.toml").read_text(encoding="utf-8"))
    for lang in LANGS:
        assert tagger.name(slug, lang).strip()
        assert data["names"][lang] == tagger.name(slug, lang)
        assert len(data["phrases"][lang]) >= 10, f"{slug}: thin {lang} lexicon"


@pytest.mark.parametrize("slug", SLUGS)
def test_every_lexicon_language_tags_its_topic(tagger: Tagger, slug: str) -> None:
    """Each language's first phrase, said in a sentence of that language, finds the topic."""
    data = tomllib.loads((DATA / f"{slug}.toml").read_text(encoding="utf-8"))
    frames = {
        "en": "we need advice about {} in our city",
        "es": "necesitamos consejos sobre {} en la ciudad",
        "pt": "precisamos de ajuda com {} na cidade",
    }
    for lang in LANGS:
        phrase = next(p for p in data["phrases"][lang] if not p.startswith(("!", "=")))
        assert slug in tagger.tag(frames[lang].format(phrase), lang).topics, (lang, phrase)


def test_names_fall_back_to_english_and_unknown_slugs_raise(tagger: Tagger) -> None:
    assert tagger.name("housing", "es") == "Vivienda"
    assert tagger.name("housing", "fr") == tagger.name("housing", "en")
    with pytest.raises(KeyError):
        tagger.name("parks", "en")


@pytest.mark.parametrize(
    ("word", "slug"),
    [
        ("housing", "housing"),
        ("vivienda", "housing"),
        ("VIVIENDA", "housing"),
        ("habitação", "housing"),
        ("habitacao", "housing"),
        ("Situación de calle", "homelessness"),
        ("situacion de calle", "homelessness"),
        ("situação de rua", "homelessness"),
        ("data-governance", "data-governance"),
        ("data governance", "data-governance"),
        ("gobernanza de datos", "data-governance"),
        ("Governança de Dados", "data-governance"),
        ("ciberseguridad", "cybersecurity"),
        ("Cibersegurança", "cybersecurity"),
        ("IA", "ai"),
        ("inteligencia artificial", "ai"),
        ("presupuesto", "budget"),
        ("orçamento", "budget"),
        ("movilidad", "transportation"),
        ("participación ciudadana", "resident-engagement"),
        ("  Cambio  Climático ", "climate"),
    ],
)
def test_resolve_accepts_slugs_and_names_in_any_language(tagger: Tagger, word: str, slug: str) -> None:
    assert tagger.resolve(word) == slug


@pytest.mark.parametrize("word", ["", "parks", "datos personales", "🙂"])
def test_resolve_rejects_unknown_words(tagger: Tagger, word: str) -> None:
    assert tagger.resolve(word) is None


def test_every_display_name_resolves_to_its_topic(tagger: Tagger) -> None:
    for topic in tagger.topics:
        for lang in LANGS:
            assert tagger.resolve(topic.names[lang]) == topic.slug


def test_default_tagger_is_a_cached_singleton() -> None:
    assert default_tagger() is default_tagger()


# -- data-driven behaviour and bad data ----------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "topics"
    shutil.copytree(DATA, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_phrase_added_to_the_data_is_matched(data_copy: Path) -> None:
    message = "the zorblax rollout starts monday for every department"
    assert Tagger.load(data_copy).tag(message, "en").topics == ()
    _edit(data_copy / "ai.toml", "en = [\n", 'en = [\n  "zorblax rollout",\n')
    assert Tagger.load(data_copy).tag(message, "en").topics == ("ai",)


def test_a_missing_topic_file_is_a_config_error(data_copy: Path) -> None:
    (data_copy / "budget.toml").unlink()
    with pytest.raises(ConfigError, match=r"budget\.toml"):
        Tagger.load(data_copy)


def test_a_wrong_slug_is_a_config_error(data_copy: Path) -> None:
    _edit(data_copy / "budget.toml", 'slug = "budget"', 'slug = "finance"')
    with pytest.raises(ConfigError, match="slug"):
        Tagger.load(data_copy)


def test_an_empty_language_lexicon_is_a_config_error(data_copy: Path) -> None:
    text = (data_copy / "housing.toml").read_text(encoding="utf-8")
    start = text.index("pt = [", text.index("[phrases]"))
    end = text.index("]", start) + 1
    (data_copy / "housing.toml").write_text(text[:start] + "pt = []" + text[end:], encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        Tagger.load(data_copy)


def test_a_missing_display_name_is_a_config_error(data_copy: Path) -> None:
    _edit(data_copy / "climate.toml", 'pt = "Mudança climática"\n', "")
    with pytest.raises(ConfigError, match="names"):
        Tagger.load(data_copy)


def test_an_alias_claimed_by_two_topics_is_a_config_error(data_copy: Path) -> None:
    _edit(data_copy / "budget.toml", 'en = ["budgeting",', 'en = ["housing", "budgeting",')
    with pytest.raises(ConfigError, match="already belongs"):
        Tagger.load(data_copy)


def test_invalid_toml_is_a_config_error(data_copy: Path) -> None:
    (data_copy / "_common.toml").write_text("order = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Tagger.load(data_copy)


def test_a_topic_file_missing_from_the_order_is_a_config_error(data_copy: Path) -> None:
    shutil.copy(data_copy / "budget.toml", data_copy / "finance.toml")
    with pytest.raises(ConfigError, match=r"finance\.toml"):
        Tagger.load(data_copy)
