"""Fixtures for staff tests (registered in conftest.py)."""
