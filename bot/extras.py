"""Which optional install (``pip install 'agora[NAME]'``) brings which library.

The core (web playground, store, topics, similar questions, CLI) installs alone;
each platform, the argos engine, the charts and PostgreSQL are extras. When a plugin fails
to import because its extra is missing, :func:`missing_extra` turns the bare
ImportError into a message that says which extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from bot.errors import MissingExtra

# top-level import name -> the extra that installs it (pyproject.toml [project.optional-dependencies])
EXTRA_OF: dict[str, str] = {
    "slack_bolt": "slack",
    "slack_sdk": "slack",
    "discord": "discord",
    "argostranslate": "argos",
    "ctranslate2": "argos",
    "minisbd": "argos",
    "sacremoses": "argos",
    "tqdm": "argos",
    "matplotlib": "charts",
    "psycopg": "postgres",
}


def missing_extra(exc: ImportError, what: str) -> MissingExtra | None:
    """The MissingExtra to raise for ``exc`` (from ``what``), or None when no extra provides the module."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(top)
    if extra is None:
        return None
    return MissingExtra(
        f"{what} needs the optional package {top!r}, which is not installed: pip install 'agora[{extra}]'", extra
    )


def import_extra(module: str, what: str) -> ModuleType:
    """Import ``module`` (an optional library); MissingExtra names the extra when it is absent."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = missing_extra(exc, what)
        if extra is None:
            raise
        raise extra from exc
