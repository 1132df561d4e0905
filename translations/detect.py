"""Which of en/es/pt a message is written in.

py3langid restricted to the three network languages is right on whole
sentences but guesses on "valeu!" or "dale", where Spanish and Portuguese
share most of their letters (notes/translation.md §4). Below a length or
confidence floor the channel's language is the better bet, because people
mostly write in their channel's language; a long, confident message in
another language still wins over the channel.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from translations.config import LANGUAGES, DetectSettings

# Things that carry no language: URLs, platform mentions and emoji, @names, #channels, code.
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|<[@#!][^>\s]*>|<a?:\w+:\d+>|:[\w+-]+:|[@#][\w.-]+|`[^`]*`",
)

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    """Load the py3langid model once per process (it takes ~0.7 s)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages(list(LANGUAGES))
            _identifier = ident
        return _identifier


@dataclass(frozen=True, slots=True)
class Guess:
    """The classifier's answer and how many letters it was based on."""

    lang: str
    confidence: float
    letters: int


class LanguageDetector:
    """py3langid for en/es/pt, with the channel's language below the floor."""

    def __init__(self, settings: DetectSettings | None = None) -> None:
        self.settings = settings or DetectSettings()

    def warm(self) -> None:
        """Load the model now, at startup, rather than stalling the first message for ~0.7 s."""
        _model()

    def classify(self, text: str) -> Guess:
        """The raw guess, ignoring any prior; ``letters`` 0 means nothing to judge."""
        clean = _NOISE.sub(" ", text)
        letters = sum(ch.isalpha() for ch in clean)
        if not letters:
            return Guess(LANGUAGES[0], 0.0, 0)
        lang, prob = _model().classify(clean)
        return Guess(str(lang), float(prob), letters)

    def detect(self, text: str, prior: str | None = None) -> str:
        """The message's language; ``prior`` (the channel's) decides when the text is too thin to judge."""
        guess = self.classify(text)
        known_prior = prior if prior in LANGUAGES else None
        if known_prior is not None and (
            guess.letters < self.settings.min_letters or guess.confidence < self.settings.min_confidence
        ):
            return known_prior
        if not guess.letters:
            return LANGUAGES[0]
        return guess.lang
