"""The one pass-through translator: detects, never translates.

Serves twice: when no translation package is installed at all (the core's
fallback, so the relay still works), and as the translation package's
``backend = "none"`` (with its language detector and its own doctor check).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.ports import Check, GlossaryTerm, Translation
from bot.richtext import RichText

NOT_INSTALLED = Check("translation", False, "no translation package installed", "pip install agora (translations/)")


class PassThrough:
    """Translator that never translates: every copy goes out in its original language.

    ``detect`` guesses a text's language (default: trust the channel's); ``check``
    is what ``agora doctor`` shows about it.
    """

    name = "none"

    def __init__(self, detect: Callable[[str, str | None], str] | None = None, check: Check = NOT_INSTALLED) -> None:
        self._detect = detect
        self.check = check

    def detect(self, text: str, prior: str | None) -> str:
        return self._detect(text, prior) if self._detect else prior or "en"

    async def translate(
        self, text: RichText, source: str, target: str, glossary: Sequence[GlossaryTerm] = ()
    ) -> Translation:
        return Translation(text, False, self.name)

    def checks(self) -> list[Check]:
        return [self.check]

    async def close(self) -> None:
        return None
