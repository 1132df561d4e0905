"""Cache keys, and the small caches used where the core's store is absent.

A key names the engine, the model version, the pair and the SHA-256 of the
exact engine input (placeholders included), so a new model or a different
protected layout never serves a stale answer, and the store never holds the
text itself in its key.
"""

from __future__ import annotations

import hashlib


def cache_key(engine: str, version: str, source: str, target: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{engine}|{version}|{source}|{target}|{digest}"


class MemoryCache:
    """A dict-backed TranslationCache: for ``agora translate`` and tests."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def get_translation(self, key: str) -> str | None:
        return self.entries.get(key)

    def put_translation(self, key: str, engine: str, source: str, target: str, text: str, result: str) -> None:
        self.entries[key] = result


class NullCache:
    """Remembers nothing (``agora translate --no-cache``)."""

    def get_translation(self, key: str) -> str | None:
        return None

    def put_translation(self, key: str, engine: str, source: str, target: str, text: str, result: str) -> None:
        return None
