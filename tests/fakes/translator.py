"""Moved to :mod:`testing.translator`: the testing kit ships in the package.

Kept only while tests/discord (Discord branch) imports it from here.
"""

from testing.translator import *  # noqa: F403
