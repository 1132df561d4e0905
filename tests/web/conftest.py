"""The web playground's fixtures: the real Agora with the real web adapter on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config, parse_config

CITIES = (
    ("boston", "Boston", "en", "US"),
    ("guadalajara", "Guadalajara", "es", "MX"),
    ("recife", "Recife", "pt", "BR"),
)


def web_config(db: Path, database: str | None = None) -> Config:
    """The shipped demo network on a free port and a temporary database, with quick retries; ``db``
    anchors local files, ``database`` (a server URL) replaces it as the database."""
    raw = {
        "agora": {"database": database or str(db)},
        "adapters": {"web": {"host": "127.0.0.1", "port": 0}},
        "outbox": {"backoff_base": 0.01, "backoff_max": 0.05},
        "networks": [
            {
                "name": "demo",
                "channels": [
                    {"ref": f"web:demo/{cid}", "city": city, "lang": lang, "country": country}
                    for cid, city, lang, country in CITIES
                ],
            }
        ],
    }
    return parse_config(raw, base=db.parent, environ={}, path=db.parent / "config.toml")
