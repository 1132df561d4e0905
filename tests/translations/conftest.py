"""Shared fixtures for the translation tests: tiny Argos models and a fake LibreTranslate."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from testing.fake_libretranslate import FakeLibreTranslate


@pytest.fixture
async def fake_lt() -> AsyncIterator[FakeLibreTranslate]:
    server = FakeLibreTranslate()
    await server.start()
    yield server
    await server.stop()
