"""What a machine-translation backend must do, and nothing more.

Backends only translate lists of strings for one direct language pair; the
shared :class:`translations.translator.EngineTranslator` does everything else
once for all of them (markup protection, glossary, caching, pivoting, timeouts,
logging). That keeps a new engine (DeepL, a cluster of LibreTranslate servers)
to one small class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.errors import TranslationError
from bot.ports import Check
from translations.protect import Codec


class BackendError(TranslationError):
    """A backend failure with a stable ``problem`` key, so it is logged once, not once per message."""

    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else problem)
        self.problem = problem
        self.detail = detail


class Engine(Protocol):
    """One MT backend. ``translate`` raises :class:`BackendError` (or TranslationError) only."""

    name: str
    codec: Codec
    timeout: float

    def version(self, source: str, target: str) -> str:
        """What identifies the model for a pair, so cached results die with the model."""
        ...

    async def pairs(self) -> frozenset[tuple[str, str]]:
        """The direct pairs the backend can translate now."""
        ...

    async def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        """One output per input, in order, for a direct pair."""
        ...

    def checks(self) -> list[Check]: ...

    async def close(self) -> None: ...
