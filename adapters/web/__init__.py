"""The local web playground adapter (``[adapters.web]``: host, port, pace, max_text).

``host``/``port`` are the playground's address (default 127.0.0.1:8080; port 0
picks a free one), ``pace`` the seconds between posts in one channel (default
0), ``max_text`` the longest post before the core splits it (default 4000).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.web.adapter import WebAdapter
from bot.ports import AdapterContext


def create(config: Mapping[str, Any], context: AdapterContext) -> WebAdapter:
    """Entry point ``agora.adapters:web``."""
    return WebAdapter(config, context)


__all__ = ["WebAdapter", "create"]
