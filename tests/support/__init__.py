"""Helpers shared by several test modules (kept out of the test_*.py files)."""
