"""A deterministic translator for core tests: marks each text segment with its target.

The real engines are tested in tests/translations; here the relay is under
test, so the translation only needs to be visible and countable.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import TranslationError
from bot.ports import Check, GlossaryTerm, Translation
from bot.richtext import RichText, map_text


class MarkingTranslator:
    name = "marking"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.down = False

    def detect(self, text: str, prior: str | None) -> str:
        lowered = f" {text.lower()} "
        if any(w in lowered for w in (" não ", " você ", " cidade ", " prefeitura ", " obrigad")):
            return "pt"
        if any(w in lowered for w in (" qué ", " ciudad ", " cómo ", " gracias ", " hola ")):
            return "es"
        return prior or "en"

    async def translate(
        self, text: RichText, source: str, target: str, glossary: Sequence[GlossaryTerm] = ()
    ) -> Translation:
        from bot.richtext import to_plain

        self.calls.append((to_plain(text), source, target))
        if self.down:
            raise TranslationError("engine down")
        return Translation(map_text(text, lambda s: f"[{target}] {s}"), True, "marking")

    def checks(self) -> list[Check]:
        return [Check("translation", True, "marking")]

    async def close(self) -> None:
        return None
