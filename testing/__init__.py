"""Agora's testing kit: fake Slack, fake platforms, load and fault scenarios, polling helpers.

It ships inside the package so that ``agora bench load`` and ``agora bench files`` run from an
installed Agora, not only from a checkout; tests/ imports it too. The fake Discord still lives in
tests/fakes/discord_server.py (see :mod:`testing.discord_server`).
"""
