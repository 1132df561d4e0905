"""The argostranslate side of the argos backend; imported only after the environment is set.

argostranslate reads its settings (packages dir, beam, threads) once, at
import, and creates its directories then, which is why
:mod:`translations.backends.argos` prepares the environment and imports this
module lazily. Three things are changed on purpose:

- sentence splitting: argos-translate-lt's default MiniSBD splitter downloads
  an ONNX model from GitHub on first use unless the package ships one. Chat
  messages are short, so a regex splitter is used instead; MiniSBD is used
  only when asked for *and* the package carries ``minisbd/*.onnx``.
- logging: ``argostranslate.utils`` logs every input text at INFO, and the
  bot must never log message text above DEBUG.
- decoding: argos's ``hypotheses`` decodes one text per call, in sub-batches
  of 32 *tokens* (``ARGOS_BATCH_SIZE``), so every sentence of a chat message
  longer than that is decoded alone, one after another, and it formats its
  token lists for an INFO log line whether or not anyone logs them. Here all
  sentences of all texts in one engine call go to CTranslate2 as one batch,
  with argos's own tokenizer, decoding options and reassembly: the same
  translations (checked against ``hypotheses`` on the development set), in
  ~80% of the time for its two-to-three-sentence messages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import argostranslate.package as argos_package
import argostranslate.sbd as argos_sbd
import argostranslate.settings as argos_settings
import argostranslate.translate as argos_translate
import ctranslate2

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
    """argos's PackageTranslation with the sentence splitter chosen here rather than by global settings."""

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


def _translator(translation: OfflinePackageTranslation) -> Any:
    """The package's CTranslate2 model, created on first use with argos's settings, as argos does."""
    if translation.translator is None:
        params: dict[str, Any] = {
            "model_path": str(Path(translation.pkg.package_path) / "model"),
            "device": argos_settings.device,
            "inter_threads": argos_settings.inter_threads,
            "intra_threads": argos_settings.intra_threads,
        }
        if argos_settings.compute_type != "auto":
            params["compute_type"] = argos_settings.compute_type
        translation.translator = ctranslate2.Translator(**params)
    return translation.translator


def translate(translation: OfflinePackageTranslation, texts: Sequence[str]) -> list[str]:
    """Each text translated as argos's ``translate`` would, with one CTranslate2 call for all of them.

    As in argos: a text is cut into paragraphs at newlines and each paragraph
    into sentences; a paragraph's sentences are decoded as one token list, the
    target prefix and the tokenizer's leading space dropped, and the
    paragraphs joined with newlines again.
    """
    pkg = translation.pkg
    layout: list[list[int]] = []  # per text, per paragraph: how many sentences
    batch: list[list[str]] = []
    for text in texts:
        counts = []
        for paragraph in text.split("\n"):
            sentences = translation.sentencizer.split_sentences(paragraph)
            batch.extend(pkg.tokenizer.encode(sentence) for sentence in sentences)
            counts.append(len(sentences))
        layout.append(counts)
    if not batch:
        return ["" for _ in texts]
    prefix = pkg.target_prefix
    results = _translator(translation).translate_batch(
        batch,
        target_prefix=[[prefix]] * len(batch) if prefix else None,
        replace_unknowns=True,
        beam_size=max(1, argos_settings.beam_size),
        num_hypotheses=1,
        length_penalty=0.2,
    )
    outputs = iter(results)
    out: list[str] = []
    for counts in layout:
        paragraphs = []
        for count in counts:
            tokens = [token for _ in range(count) for token in next(outputs).hypotheses[0]]
            value = pkg.tokenizer.decode(tokens)
            if prefix and value.startswith(prefix):
                value = value[len(prefix) :]
            paragraphs.append(value[1:] if value.startswith(" ") else value)
        out.append("\n".join(paragraphs).lstrip("\n"))
    return out
