"""Tests of the translations package."""
