"""Which of en/es/pt a message is written in.

py3langid restricted to the three network languages is right on whole
sentences but guesses on "valeu!" or "dale", where Spanish and Portuguese
share most of their letters (notes/translation.md §4). Below a length or
confidence floor the channel's language is the better bet, because people
mostly write in their channel's language; a long, confident message in
another language still wins over the channel.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from bot.languages import LANGUAGES
from translations.config import DetectSettings

# Things that carry no language: URLs, platform mentions and emoji, @names, #channels, code.
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|<[@#!][^>\s]*>|<a?:\w+:\d+>|:[\w+-]+:|[@#][\w.-]+|`[^`]*`",
)

log = logging.getLogger(__name__)

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
            _compact(ident)
            _identifier = ident
        return _identifier


def _compact(ident: Any) -> None:
    """Give the classifier's lookup tables a layout that costs fewer cache and TLB misses.

    Between two messages the 40 MB byte-level automaton py3langid walks is
    evicted from the CPU caches, so a cold ``classify`` of a 200-character
    message costs ~0.4 ms, mostly in memory misses: a state's row offset and
    output are Python ints in lists (a pointer and an object apart), the
    automaton sits on 4 KB pages, and the per-feature weights of the three
    kept languages are a strided float16 view. The same values as flat
    integer buffers (large numpy buffers get transparent huge pages) and a
    contiguous float32 table (numpy widened the float16 weights to float32 in
    every product anyway) give bit-identical scores in ~35% less time. The
    attributes are py3langid internals, so anything unexpected leaves the
    model as loaded.
    """
    import numpy as np

    try:
        nextmove = np.frombuffer(ident.tk_nextmove, dtype=np.uint32).copy().data
        rowbase = np.asarray(ident._rowbase, dtype=np.int64).data
        output = np.asarray(ident.tk_output, dtype=np.int64).data
        weights = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)
    except (AttributeError, TypeError, ValueError) as exc:
        log.debug("py3langid tables left as loaded: %s", exc)
        return
    ident.tk_nextmove, ident._rowbase, ident.tk_output, ident.nb_ptc = nextmove, rowbase, output, weights


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
        return _judge(clean, _letters(clean))

    def detect(self, text: str, prior: str | None = None) -> str:
        """The message's language; ``prior`` (the channel's) decides when the text is too thin to judge."""
        known_prior = prior if prior in LANGUAGES else None
        clean = _NOISE.sub(" ", text)
        letters = _letters(clean)
        if known_prior is not None and letters < self.settings.min_letters:
            return known_prior  # too short to judge whatever the model says: skip it
        guess = _judge(clean, letters)
        if known_prior is not None and guess.confidence < self.settings.min_confidence:
            return known_prior
        if not guess.letters:
            return LANGUAGES[0]
        return guess.lang


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


# The opening of a message decides its language as well as the whole of it, and the
# model's cost grows with every byte (its tables miss the CPU cache on each one).
JUDGED_CHARS = 200


def _judge(clean: str, letters: int) -> Guess:
    if not letters:
        return Guess(LANGUAGES[0], 0.0, 0)
    if len(clean) > JUDGED_CHARS:
        cut = clean.rfind(" ", 0, JUDGED_CHARS)
        clean = clean[: cut if cut > JUDGED_CHARS // 2 else JUDGED_CHARS]
    lang, prob = _model().classify(clean)
    return Guess(str(lang), float(prob), letters)
