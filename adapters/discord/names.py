"""Names Discord accepts for webhook posts and threads.

Discord refuses a webhook post whose username contains "clyde" or "discord"
(any case) or is not 1-80 characters, and a thread whose name is not 1-100
characters. A relayed author named "Discord Fan (Lima)" must still get through,
so the forbidden words get a look-alike letter instead of being dropped.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile(r"clyde|discord", re.IGNORECASE)
_LOOKALIKE = str.maketrans({"o": "\u043e", "O": "\u041e", "e": "\u0435", "E": "\u0415"})  # Cyrillic о, е
_SPACES = re.compile(r"\s+")
MAX_USERNAME = 80
MAX_THREAD_NAME = 100


def _defuse(match: re.Match[str]) -> str:
    return match[0].translate(_LOOKALIKE)


def webhook_username(name: str, fallback: str = "Agora") -> str:
    """A username Discord accepts that still reads as ``name``."""
    clean = _SPACES.sub(" ", name).strip() or fallback
    if len(clean) > MAX_USERNAME:
        clean = clean[: MAX_USERNAME - 1].rstrip() + "…"
    clean = _FORBIDDEN.sub(_defuse, clean)
    if clean.lower() in ("everyone", "here"):
        clean += " ·"
    return clean


def thread_name(title: str, fallback: str = "Agora") -> str:
    """A thread title of 1-100 characters on one line."""
    clean = _SPACES.sub(" ", title).strip() or fallback
    if len(clean) > MAX_THREAD_NAME:
        clean = clean[: MAX_THREAD_NAME - 1].rstrip() + "…"
    return clean
