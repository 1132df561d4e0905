"""The fake Discord server, as the kit sees it.

It still lives in tests/fakes/discord_server.py while the Discord branch edits it; once that branch has
landed it moves here (``git mv``) and this re-export goes. Until then the suites that start Discord
(``agora bench load``/``files``) need the repository checkout on the path.
"""

from __future__ import annotations

from tests.fakes.discord_server import FakeDiscord

__all__ = ["FakeDiscord"]
