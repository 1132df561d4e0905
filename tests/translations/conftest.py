"""Shared fixtures for the translation tests: tiny Argos models and a fake LibreTranslate."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.fake_libretranslate import FakeLibreTranslate
from tests.fixtures.tiny_argos import build_packages
from translations.backends.argos import argos_runtime
from translations.config import parse_settings
from translations.models import install_files

_ARGOS_ENV = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "ARGOS_PACKAGES_DIR", "ARGOS_BEAM_SIZE")


@pytest.fixture(scope="session", autouse=True)
def argos_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Import argostranslate once, with every directory it creates under a temp dir.

    argostranslate reads its environment and mkdirs its data/config/cache
    directories at import, so the environment is pointed here first and
    restored right after: nothing leaks into the rest of the test session.
    """
    home = tmp_path_factory.mktemp("argos-home")
    saved = {k: os.environ.get(k) for k in (*_ARGOS_ENV, "ARGOS_INTRA_THREADS", "ARGOS_INTER_THREADS")}
    os.environ.update(
        XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache")
    )
    try:
        settings = parse_settings({"argos": {"packages_dir": str(home / "packages")}}, os.environ)
        argos_runtime(settings.argos)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return home


@pytest.fixture(scope="session")
def tiny_archives(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """en-es, es-en, es-pt, pt-es copy models (no en-pt: that pair pivots through es)."""
    return build_packages(tmp_path_factory.mktemp("tiny-argos"))


@pytest.fixture(scope="session")
def argos_dir(
    argos_home: Path, tiny_archives: dict[tuple[str, str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A packages directory with the four tiny models installed (read-only for tests)."""
    where = tmp_path_factory.mktemp("argos-packages") / "packages"
    for _, pkg, status in install_files(list(tiny_archives.values()), where):
        assert pkg is not None, status
    return where


@pytest.fixture
async def fake_lt() -> AsyncIterator[FakeLibreTranslate]:
    server = FakeLibreTranslate()
    await server.start()
    yield server
    await server.stop()
