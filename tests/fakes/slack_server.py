"""Moved to :mod:`testing.slack_server`: the testing kit ships in the package.

Kept only while tests/discord (Discord branch) imports it from here.
"""

from testing.slack_server import *  # noqa: F403
