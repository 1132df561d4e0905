"""The argostranslate side of the argos backend; imported only after the environment is set.

argostranslate reads its settings (packages dir, beam, threads) once, at
import, and creates its directories then, which is why
:mod:`translations.backends.argos` prepares the environment and imports this
module lazily. Two things are changed on purpose:

- sentence splitting: argos-translate-lt's default MiniSBD splitter downloads
  an ONNX model from GitHub on first use unless the package ships one. Chat
  messages are short, so a regex splitter is used instead; MiniSBD is used
  only when asked for *and* the package carries ``minisbd/*.onnx``.
- logging: ``argostranslate.utils`` logs every input text at INFO, and the
  bot must never log message text above DEBUG.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import argostranslate.package as argos_package
import argostranslate.sbd as argos_sbd
import argostranslate.settings as argos_settings
import argostranslate.translate as argos_translate

logging.getLogger("argostranslate.utils").setLevel(logging.DEBUG if argos_settings.debug else logging.WARNING)

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


class RegexSentencizer(argos_sbd.ISentenceBoundaryDetectionModel):  # type: ignore[misc]
    """Sentence ends at . ! ? … followed by space; never touches the network."""

    def __init__(self, pkg: Any) -> None:
        self.pkg = pkg

    def split_sentences(self, text: str) -> list[str]:
        return [s for s in _SENTENCE_END.split(text) if s.strip()] or [text]

    def __str__(self) -> str:
        return "RegexSentencizer"


class OfflinePackageTranslation(argos_translate.PackageTranslation):  # type: ignore[misc]
    """argos's PackageTranslation with the sentence splitter chosen here rather than by global settings.

    ``hypotheses`` (CTranslate2 + SentencePiece via ``apply_packaged_translation``) is argos's own.
    """

    def __init__(self, pkg: Any, splitter: str) -> None:
        self.from_lang = argos_translate.Language(pkg.from_code, pkg.from_name)
        self.to_lang = argos_translate.Language(pkg.to_code, pkg.to_name)
        self.pkg = pkg
        self.translator = None
        onnx = sorted((Path(pkg.package_path) / "minisbd").glob("*.onnx"))
        if splitter == "minisbd" and onnx:
            self.sentencizer = argos_sbd.MiniSBDSentencizer(pkg)
        else:
            self.sentencizer = RegexSentencizer(pkg)


def configure(beam_size: int, threads: int) -> None:
    """Settings argos reads per call or per model load; applied even if argos was imported earlier."""
    argos_settings.beam_size = beam_size
    argos_settings.intra_threads = threads
    argos_settings.inter_threads = 1


def load(path: Path, splitter: str) -> OfflinePackageTranslation:
    return OfflinePackageTranslation(argos_package.Package(path), splitter)


def translate(translation: OfflinePackageTranslation, text: str) -> str:
    return str(translation.hypotheses(text, num_hypotheses=1)[0].value)
