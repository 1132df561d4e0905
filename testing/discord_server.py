"""The fake Discord server, as the kit sees it.

It still lives in tests/fakes/discord_server.py while the Discord branch edits it; once that branch has
landed it moves here (``git mv``) and this shim goes. Until then the suites that start Discord
(``agora bench load``/``files``) need the repository checkout, which this module puts first on the path.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _use_repository_tests() -> None:
    """Import tests/ from this checkout (argos-translate-lt installs a ``tests`` package of its own)."""
    if not (REPO / "tests" / "fakes" / "discord_server.py").exists():
        raise RuntimeError("the fake Discord needs the repository checkout (tests/fakes/discord_server.py)")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    loaded = sys.modules.get("tests")
    if loaded is not None and not str(getattr(loaded, "__file__", "") or "").startswith(str(REPO)):
        for name in [m for m in sys.modules if m == "tests" or m.startswith("tests.")]:
            del sys.modules[name]


_use_repository_tests()

from tests.fakes.discord_server import FakeDiscord  # noqa: E402

__all__ = ["FakeDiscord"]
