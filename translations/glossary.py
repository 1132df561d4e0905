"""Terms no engine may translate freely: acronyms, program and city names.

Engines turn "Buenos Aires" into "Good Airs" and "PIT" into "pozo", so glossary
terms are cut out of the text before it reaches an engine (they travel as
placeholders, like mentions) and put back afterwards, either unchanged or in
the one form the network fixed for the target language. The shipped list is
``data/glossary.toml``; an operator file (``translation.glossary``) and each
network's own terms (``/agora glossary add``) are layered on top, later wins.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.languages import LANGUAGES
from bot.ports import GlossaryTerm

_SPACE = re.compile(r"\s+")
_MATCHERS = 64  # distinct network glossaries kept compiled


@dataclass(frozen=True, slots=True)
class Term:
    """One glossary entry: its canonical form and its fixed form per language."""

    term: str
    forms: tuple[tuple[str, str], ...] = ()

    def render(self, target: str) -> str:
        """The text to put in a translation into ``target``."""
        return dict(self.forms).get(target, self.term)

    def surfaces(self) -> set[str]:
        """Every way the term may be written in a source text."""
        return {self.term, *(form for _, form in self.forms)}


@dataclass(frozen=True, slots=True)
class Hit:
    """A place where a term occurs in a text, as written there."""

    term: Term
    written: str


def _case_sensitive(form: str) -> bool:
    return any(ch.isupper() or ch.isdigit() for ch in form)


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text.strip())


class Matcher:
    """Finds the terms of one glossary in text; built once per distinct glossary."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self._exact: dict[str, Term] = {}
        self._folded: dict[str, Term] = {}
        patterns: list[tuple[int, str]] = []
        for term in terms:
            for form in term.surfaces():
                form = _collapse(form)
                if not form:
                    continue
                body = r"\s+".join(re.escape(word) for word in form.split(" "))
                if _case_sensitive(form):
                    self._exact[form] = term
                    patterns.append((len(form), body))
                else:
                    self._folded[form.casefold()] = term
                    patterns.append((len(form), f"(?i:{body})"))
        patterns.sort(key=lambda p: -p[0])  # longest first: "Mexico City" before "Mexico"
        alternation = "|".join(p for _, p in patterns)
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)") if patterns else None

    def split(self, text: str) -> list[str | Hit]:
        """``text`` cut into plain pieces and term hits, in order; joins back to ``text``."""
        if self._pattern is None:
            return [text]
        out: list[str | Hit] = []
        start = 0
        for m in self._pattern.finditer(text):
            written = m.group(0)
            key = _collapse(written)
            term = self._exact.get(key) or self._folded.get(key.casefold())
            if term is None:  # matched a case-insensitive alternative under a sensitive key
                continue
            if m.start() > start:
                out.append(text[start : m.start()])
            out.append(Hit(term, written))
            start = m.end()
        if start < len(text):
            out.append(text[start:])
        return out


class Glossary:
    """The shipped and operator terms; :meth:`matcher` adds a network's own."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self.terms = tuple(terms)
        # Matchers by network terms: hashing those few terms is cheaper than hashing the whole base glossary
        # for the shared cache below on every message.
        self._matchers: dict[tuple[GlossaryTerm, ...], Matcher] = {}

    @classmethod
    def load(cls, extra: Path | None = None) -> Glossary:
        """The shipped glossary, plus the operator's file when configured."""
        data = resources.files("translations").joinpath("data/glossary.toml").read_text(encoding="utf-8")
        terms = parse_glossary(tomllib.loads(data), "translations/data/glossary.toml")
        if extra is not None:
            try:
                raw = tomllib.loads(extra.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"translation.glossary: cannot read {extra}: {exc}") from exc
            terms = merge(terms, parse_glossary(raw, "translation.glossary"))
        return cls(terms)

    def matcher(self, network_terms: Sequence[GlossaryTerm] = ()) -> Matcher:
        key = tuple(network_terms)
        found = self._matchers.get(key)
        if found is None:
            if len(self._matchers) >= _MATCHERS:
                self._matchers.clear()
            extra = tuple(Term(t.term, tuple(sorted(t.translations))) for t in key)
            found = self._matchers[key] = _matcher(self.terms, extra)
        return found


@functools.lru_cache(maxsize=_MATCHERS)
def _matcher(base: tuple[Term, ...], extra: tuple[Term, ...]) -> Matcher:
    return Matcher(merge(base, extra))


def merge(base: Sequence[Term], extra: Sequence[Term]) -> list[Term]:
    """``base`` with ``extra`` added; an extra term replaces a base term of the same name."""
    replaced = {t.term.casefold() for t in extra}
    return [t for t in base if t.term.casefold() not in replaced] + list(extra)


def parse_glossary(raw: Mapping[str, Any], where: str) -> list[Term]:
    """Terms from a glossary TOML document (``[[terms]]`` with ``term`` and optional en/es/pt)."""
    entries = raw.get("terms", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: 'terms' must be an array of tables")
    out: list[Term] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("term"), str) or not entry["term"].strip():
            raise ConfigError(f"{where}: terms[{i}] needs a non-empty 'term' string")
        unknown = set(entry) - {"term", *LANGUAGES}
        if unknown:
            raise ConfigError(f"{where}: terms[{i}].{sorted(unknown)[0]}: unknown key")
        forms = tuple(sorted((lang, str(entry[lang])) for lang in LANGUAGES if lang in entry))
        out.append(Term(entry["term"].strip(), forms))
    return out
