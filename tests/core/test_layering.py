"""The core never imports a platform, HTTP or MT library, nor adapters/ or translations/."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
FORBIDDEN = {
    "slack_bolt",
    "slack_sdk",
    "discord",
    "argostranslate",
    "aiohttp",
    "httpx",
    "requests",
    "urllib3",
    "adapters",
    "translations",
    "ctranslate2",
    "py3langid",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_bot_imports_no_platform_http_or_mt_library() -> None:
    offenders = {
        str(path.relative_to(BOT.parent)): sorted(imported_modules(path) & FORBIDDEN)
        for path in BOT.rglob("*.py")
        if imported_modules(path) & FORBIDDEN
    }
    assert offenders == {}
    assert len(list(BOT.rglob("*.py"))) > 10
