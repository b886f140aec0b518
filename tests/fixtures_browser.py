"""Fixtures for browser tests (registered in conftest.py)."""
