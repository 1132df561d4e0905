"""Fixtures shared by the end-to-end suites."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The database the replicas of one test share, as ``[agora] database`` takes it: a SQLite file
    here; the PostgreSQL fixture parametrizes this with its private cluster's URL."""
    return str(tmp_path / "shared.db")
