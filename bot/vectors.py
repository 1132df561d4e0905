"""Compact sentence vectors: int8 codes with one float scale per vector.

A 512-dimensional float32 vector is 2,048 bytes; as int8 codes plus a scale it
is 516, and the cosine between a float query and a stored vector is off by
well under 0.01 (the codes keep 8 bits per dimension of an L2-normalised
vector whose largest component sets the scale). Stored vectors stay in SQLite
and only the candidates of one query are read, so memory does not grow with
history.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]


def quantise(vector: Vector) -> tuple[float, bytes]:
    """(scale, int8 codes) such that ``codes * scale`` approximates ``vector``."""
    peak = float(np.max(np.abs(vector))) if vector.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    codes = np.clip(np.rint(vector / scale), -127, 127).astype(np.int8)
    return scale, codes.tobytes()


def dequantise(scales: npt.NDArray[np.float64] | list[float], blobs: list[bytes], dim: int) -> Matrix:
    """Stack stored vectors back into a float32 matrix, one row per blob."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    codes = np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), dim)
    return codes.astype(np.float32) * np.asarray(scales, dtype=np.float32)[:, None]


def normalised(matrix: Matrix) -> Matrix:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.asarray(matrix / np.where(norms > 0, norms, 1.0), dtype=np.float32)
