"""The translator of last resort: passes text through, marked untranslated.

Used when no translation package is installed at all, so the relay still
works; the shipped translations/ package provides a real ``none`` backend too.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.ports import Check, GlossaryTerm, Translation
from bot.richtext import RichText


class PassThrough:
    """Translator that never translates and trusts the channel's language."""

    name = "none"

    def detect(self, text: str, prior: str | None) -> str:
        return prior or "en"

    async def translate(
        self, text: RichText, source: str, target: str, glossary: Sequence[GlossaryTerm] = ()
    ) -> Translation:
        return Translation(text, source == target, "none")

    def checks(self) -> list[Check]:
        return [Check("translation", False, "no translation package installed", "pip install agora (translations/)")]

    async def close(self) -> None:
        return None
