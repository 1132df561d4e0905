"""Agora's testing kit: fake Slack and Discord, fake platforms, load and fault scenarios, replicas, polling helpers.

It ships inside the package so that ``agora bench load`` and ``agora bench files`` run from an
installed Agora, not only from a checkout; tests/ imports it too.
"""
