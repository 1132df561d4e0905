"""Loading the captured Slack payloads in tests/payloads/slack/captured/ (each names its source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CAPTURED = Path(__file__).resolve().parent.parent / "payloads" / "slack" / "captured"


def captured(name: str) -> dict[str, Any]:
    """The payload of ``captured/<name>.json`` (a fresh copy)."""
    doc = json.loads((CAPTURED / f"{name}.json").read_text(encoding="utf-8"))
    payload: dict[str, Any] = doc["payload"]
    return payload


def source(name: str) -> dict[str, str]:
    """Where the payload was captured: repository, commit, path."""
    doc = json.loads((CAPTURED / f"{name}.json").read_text(encoding="utf-8"))
    found: dict[str, str] = doc["source"]
    return found
