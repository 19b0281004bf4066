"""Fake external services for tests (no internet in CI)."""
