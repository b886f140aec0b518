"""Fixtures for mail tests (registered in conftest.py)."""
