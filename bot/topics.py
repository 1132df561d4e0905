"""Topic tagging with a stemmed, multilingual phrase lexicon (``notes/tagging.md``).

A lexicon rather than a trained model because the network has ~10 labelled
messages per topic: phrases written by people beat any classifier at that size,
stay explainable ("matched 'situación de calle'") and can be extended by city
staff without code. Everything lives in ``bot/data/topics/``: one TOML file per
topic plus ``_common.toml`` (topic order, scoring knobs, chatter markers,
negation cues, stemming fix-ups). ``Tagger.load`` compiles it once; ``tag`` is
then dictionary lookups over the message's tokens.

Matching rules, in the order they matter:

* Text is case- and accent-folded, split on anything that is not a letter or a
  digit, and Snowball-stemmed. Every message is matched against the phrases of
  all three languages (each with its own stemmer), because staff code-switch.
* Acronyms (``AI``, ``IA``, ``GHG``, ``311``) are compared with the *raw* token,
  case-sensitively: folded, ``IA``/``ia`` and ``AI``/``aí`` are everyday words.
* A phrase element written ``=word`` must equal the folded surface word instead
  of sharing its stem, for words whose stem collides with something unrelated
  (``=housing`` would otherwise match "in house"). A phrase written ``!phrase``
  counts only in messages of its list's language: Spanish "ia" is AI, while
  Portuguese "ia" is "was going".
* Ambiguous single words (es/pt ``clima``, ``calor``, ``red``/``rede``,
  ``calle``, ``seguridad``, ``modelo``, ``renta``) are never phrases on their own;
  only the longer phrases that disambiguate them are.
* ``exclude`` phrases mask their span for one topic ("shelter in place");
  negation cues drop the match right after them ("not an AI question").
* Scores add up phrase lengths (acronyms have a fixed weight); weak evidence is
  dropped in short messages and in messages that look like logistics.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import snowballstemmer

from bot.errors import ConfigError
from bot.languages import LANGUAGE_TABLE, LANGUAGES

log = logging.getLogger(__name__)

LANGS: tuple[str, ...] = LANGUAGES
_STEMMER_NAMES: Mapping[str, str] = {lang.code: lang.stemmer for lang in LANGUAGE_TABLE}
_COMMON_FILE = "_common.toml"
_RAW_TOKEN = re.compile(r"[^\W_]+")
_STEM_CACHE_MAX = 50_000

# Kinds of compiled entries; one index holds them all so a message is scanned once per language.
_PHRASE, _EXCLUDE, _MARKER, _NEGATION = range(4)


@dataclass(frozen=True, slots=True)
class Topic:
    """A tag users see: its fixed slug and its display name per language."""

    slug: str
    names: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class TagResult:
    """The tagger's answer.

    ``topics`` is the decision (0-3 slugs, best first). ``scores`` and
    ``evidence`` cover every topic with any evidence, including ones the guards
    dropped, so a caller can show "why" or lower the bar inside a thread whose
    root already carries a topic.
    """

    topics: tuple[str, ...]
    scores: Mapping[str, float]
    evidence: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Settings:
    max_phrase_weight: float
    acronym_weight: float
    min_score: float
    relative: float
    max_topics: int
    short_tokens: int
    short_min_score: float
    chatter_max_score: float
    negation_window: int
    shouting_ratio: float
    shouting_min_letters: int


@dataclass(frozen=True, slots=True)
class _Entry:
    """One compiled phrase: its elements (stems, or ``=surface`` words) and what it means."""

    elements: tuple[str, ...]
    kind: int
    native: bool  # only in messages of the lexicon's own language
    topic: int  # index into Tagger.topics; -1 for markers and negation cues
    label: str


@dataclass(frozen=True, slots=True)
class _Hit:
    topic: int
    start: int
    end: int
    weight: float
    label: str


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Situación" and "situacion" are one word."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class _Stemmer:
    """A Snowball stemmer that sees folded words and returns folded stems.

    Folding before stemming makes a missing accent harmless; the per-language
    suffix fix-ups put back the accents Portuguese plural rules depend on
    ("informacoes" -> "informações"), so singular and plural still share a stem.
    """

    __slots__ = ("_cache", "_fixups", "_stemmer")

    def __init__(self, lang: str, fixups: Sequence[tuple[str, str]]) -> None:
        self._stemmer: Any = snowballstemmer.stemmer(_STEMMER_NAMES[lang])
        self._fixups = tuple(fixups)
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        prepared = word
        for suffix, replacement in self._fixups:
            if prepared.endswith(suffix):
                prepared = prepared[: -len(suffix)] + replacement
                break
        stem = fold(str(self._stemmer.stemWord(prepared)))
        if len(self._cache) >= _STEM_CACHE_MAX:
            self._cache.clear()
        self._cache[word] = stem
        return stem


def _raw_tokens(text: str) -> list[str]:
    return _RAW_TOKEN.findall(text)


class Tagger:
    """Tags a message with 0-3 of the network's topics. Immutable after ``load``."""

    __slots__ = ("_acronyms", "_indexes", "_keys", "_names", "_settings", "_stemmers", "topics")

    def __init__(
        self,
        topics: Sequence[Topic],
        indexes: Mapping[str, Mapping[str, tuple[_Entry, ...]]],
        acronyms: Mapping[str, tuple[int, ...]],
        stemmers: Mapping[str, _Stemmer],
        settings: _Settings,
        keys: Mapping[str, str],
    ) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self._names = {topic.slug: topic for topic in self.topics}
        self._indexes = indexes
        self._acronyms = acronyms
        self._stemmers = stemmers
        self._settings = settings
        self._keys = keys

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: Path | None = None) -> Tagger:
        """Compile the lexicon in ``directory`` (default: the one shipped in ``bot/data/topics``)."""
        root: Traversable = directory if directory is not None else resources.files("bot") / "data" / "topics"
        common = _read_toml(root / _COMMON_FILE)
        order = _str_list(common, "order", _COMMON_FILE)
        settings = _settings(_table(common, "scoring", _COMMON_FILE))
        fixups_table = common.get("stem_fixups", {})
        stemmers = {lang: _Stemmer(lang, [(str(a), str(b)) for a, b in fixups_table.get(lang, [])]) for lang in LANGS}
        entries: dict[str, list[_Entry]] = {lang: [] for lang in LANGS}
        for kind, key in ((_MARKER, "chatter_markers"), (_NEGATION, "negation_cues")):
            table = _table(common, key, _COMMON_FILE)
            for lang in LANGS:
                for phrase in _str_list(table, lang, f"{_COMMON_FILE} [{key}]"):
                    entries[lang].append(_compile(phrase, kind, -1, stemmers[lang]))

        topics: list[Topic] = []
        acronyms: dict[str, list[int]] = {}
        keys: dict[str, str] = {}
        for index, slug in enumerate(order):
            name = f"{slug}.toml"
            data = _read_toml(root / name)
            if data.get("slug") != slug:
                raise ConfigError(f"{name}: slug must be {slug!r}")
            names = _table(data, "names", name)
            phrases = _table(data, "phrases", name)
            exclude = data.get("exclude", {})
            aliases = data.get("aliases", {})
            display: dict[str, str] = {}
            for lang in LANGS:
                label = names.get(lang)
                if not isinstance(label, str) or not label.strip():
                    raise ConfigError(f"{name}: [names] {lang} is missing")
                display[lang] = label
                lang_phrases = _str_list(phrases, lang, f"{name} [phrases]")
                if not lang_phrases:
                    raise ConfigError(f"{name}: [phrases] {lang} is empty")
                entries[lang].extend(_compile(p, _PHRASE, index, stemmers[lang]) for p in lang_phrases)
                entries[lang].extend(
                    _compile(p, _EXCLUDE, index, stemmers[lang]) for p in _str_list(exclude, lang, f"{name} [exclude]")
                )
                for word in [label, *_str_list(aliases, lang, f"{name} [aliases]")]:
                    _add_key(keys, _resolve_key(word), slug, name)
            _add_key(keys, _resolve_key(slug), slug, name)
            for acronym in _str_list(data, "acronyms", name):
                acronyms.setdefault(acronym, []).append(index)
            topics.append(Topic(slug=slug, names=MappingProxyType(display)))

        stray = sorted(
            item.name
            for item in root.iterdir()
            if item.name.endswith(".toml") and not item.name.startswith("_") and item.name[:-5] not in order
        )
        if stray:
            raise ConfigError(f"topic lexicon: {', '.join(stray)} not listed in {_COMMON_FILE} order")

        indexes: dict[str, Mapping[str, tuple[_Entry, ...]]] = {}
        for lang, lang_entries in entries.items():
            grouped: dict[str, list[_Entry]] = {}
            for entry in lang_entries:
                grouped.setdefault(entry.elements[0], []).append(entry)
            indexes[lang] = {key: tuple(group) for key, group in grouped.items()}
        log.debug("topic lexicon compiled: %d topics, %d entries", len(topics), sum(map(len, entries.values())))
        return cls(
            topics,
            indexes,
            {acronym: tuple(slugs) for acronym, slugs in acronyms.items()},
            stemmers,
            settings,
            keys,
        )

    # -- queries ---------------------------------------------------------------------------------

    def name(self, slug: str, lang: str) -> str:
        """The display name of ``slug`` in ``lang`` (English when the language is not one of ours)."""
        topic = self._names.get(slug)
        if topic is None:
            raise KeyError(slug)
        return topic.names.get(lang, topic.names["en"])

    def resolve(self, word: str) -> str | None:
        """The slug a user meant by a slug, display name or alias in any language, or None."""
        return self._keys.get(_resolve_key(word))

    def tag(self, text: str, lang: str) -> TagResult:
        """Tag ``text`` written in ``lang``.

        All three lexicons run on every message, because staff code-switch;
        ``lang`` only enables the few ``!`` phrases that are safe in one language.
        """
        settings = self._settings
        max_weight = settings.max_phrase_weight
        raw = _raw_tokens(text)
        if not raw:
            return TagResult((), MappingProxyType({}), MappingProxyType({}))
        words = [fold(token) for token in raw]
        exact = ["=" + word for word in words]
        hits: list[_Hit] = []
        excluded: list[tuple[int, int, int]] = []
        negated: set[int] = set()
        chatter = False
        count = len(words)
        for lang_code, index in self._indexes.items():
            stem = self._stemmers[lang_code].stem
            stems = [stem(word) for word in words]
            for i in range(count):
                for key in (stems[i], exact[i]):
                    candidates = index.get(key)
                    if candidates is None:
                        continue
                    for entry in candidates:
                        end = i + len(entry.elements)
                        if end > count or (entry.native and lang_code != lang):
                            continue
                        if not _matches(entry.elements, stems, exact, i):
                            continue
                        if entry.kind == _PHRASE:
                            hits.append(_Hit(entry.topic, i, end, min(float(end - i), max_weight), entry.label))
                        elif entry.kind == _EXCLUDE:
                            excluded.append((entry.topic, i, end))
                        elif entry.kind == _MARKER:
                            chatter = True
                        else:
                            negated.update(range(end, end + settings.negation_window + 1))
        if self._acronyms and not _shouting(text, settings):
            for i, token in enumerate(raw):
                for topic in self._acronyms.get(token, ()):
                    hits.append(_Hit(topic, i, i + 1, settings.acronym_weight, token))

        scores, evidence = self._score(hits, excluded, negated)
        return TagResult(
            self._decide(scores, count, chatter),
            MappingProxyType({self.topics[t].slug: s for t, s in scores.items()}),
            MappingProxyType({self.topics[t].slug: e for t, e in evidence.items()}),
        )

    # -- internals -------------------------------------------------------------------------------

    def _score(
        self, hits: Iterable[_Hit], excluded: Sequence[tuple[int, int, int]], negated: set[int]
    ) -> tuple[dict[int, float], dict[int, tuple[str, ...]]]:
        """Sum each topic's heaviest non-overlapping matches, after exclusions and negations."""
        by_topic: dict[int, list[_Hit]] = {}
        for hit in hits:
            if hit.start in negated:
                continue
            if any(t == hit.topic and s < hit.end and hit.start < e for t, s, e in excluded):
                continue
            by_topic.setdefault(hit.topic, []).append(hit)
        scores: dict[int, float] = {}
        evidence: dict[int, tuple[str, ...]] = {}
        for topic, topic_hits in by_topic.items():
            topic_hits.sort(key=lambda h: (-h.weight, -(h.end - h.start), h.start))
            taken: list[_Hit] = []
            for hit in topic_hits:
                if all(hit.end <= t.start or t.end <= hit.start for t in taken):
                    taken.append(hit)
            scores[topic] = sum(hit.weight for hit in taken)
            taken.sort(key=lambda h: h.start)
            evidence[topic] = tuple(dict.fromkeys(hit.label for hit in taken))
        return scores, evidence

    def _decide(self, scores: Mapping[int, float], tokens: int, chatter: bool) -> tuple[str, ...]:
        if not scores:
            return ()
        settings = self._settings
        top = max(scores.values())
        if tokens < settings.short_tokens and top < settings.short_min_score:
            return ()
        if chatter and sum(scores.values()) <= settings.chatter_max_score:
            return ()
        floor = max(settings.min_score, settings.relative * top)
        kept = sorted((t for t, s in scores.items() if s >= floor), key=lambda t: (-scores[t], t))
        return tuple(self.topics[t].slug for t in kept[: settings.max_topics])


@functools.cache
def default_tagger() -> Tagger:
    """The shipped lexicon, compiled once per process."""
    return Tagger.load()


def _matches(elements: tuple[str, ...], stems: Sequence[str], exact: Sequence[str], start: int) -> bool:
    for offset in range(1, len(elements)):
        element = elements[offset]
        if element != stems[start + offset] and element != exact[start + offset]:
            return False
    return True


def _shouting(text: str, settings: _Settings) -> bool:
    """All-caps text turns everyday words ("EU IA", "AÍ") into acronym look-alikes; trust no acronym there."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < settings.shouting_min_letters:
        return False
    return sum(ch.isupper() for ch in letters) / len(letters) >= settings.shouting_ratio


def _compile(phrase: str, kind: int, topic: int, stemmer: _Stemmer) -> _Entry:
    native = phrase.startswith("!")
    elements: list[str] = []
    for part in phrase.removeprefix("!").split():
        literal = part.startswith("=")
        for token in _raw_tokens(part):
            word = fold(token)
            elements.append("=" + word if literal else stemmer.stem(word))
    if not elements:
        raise ConfigError(f"topic lexicon: phrase {phrase!r} has no words")
    label = phrase.replace("=", "").removeprefix("!")
    return _Entry(elements=tuple(elements), kind=kind, native=native, topic=topic, label=label)


def _resolve_key(word: str) -> str:
    return " ".join(fold(token) for token in _raw_tokens(word))


def _add_key(keys: dict[str, str], key: str, slug: str, source: str) -> None:
    if not key:
        return
    if keys.setdefault(key, slug) != slug:
        raise ConfigError(f"{source}: name or alias {key!r} already belongs to {keys[key]!r}")


def _read_toml(path: Traversable) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"topic lexicon: {path.name} is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"topic lexicon: {path.name} is not valid TOML: {exc}") from exc


def _table(data: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{key}] table is missing")
    return value


def _str_list(data: Mapping[str, Any], key: str, source: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{source}: {key} must be a list of strings")
    return value


def _settings(table: Mapping[str, Any]) -> _Settings:
    def number(key: str, cast: Callable[[Any], Any] = float) -> Any:
        value = table.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{_COMMON_FILE}: [scoring] {key} must be a number")
        return cast(value)

    return _Settings(
        max_phrase_weight=number("max_phrase_weight"),
        acronym_weight=number("acronym_weight"),
        min_score=number("min_score"),
        relative=number("relative"),
        max_topics=number("max_topics", int),
        short_tokens=number("short_tokens", int),
        short_min_score=number("short_min_score"),
        chatter_max_score=number("chatter_max_score"),
        negation_window=number("negation_window", int),
        shouting_ratio=number("shouting_ratio"),
        shouting_min_letters=number("shouting_min_letters", int),
    )
