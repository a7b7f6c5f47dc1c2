"""Moved to ``tests/support/delegating.py``; kept until tests/azure imports it from there."""

from tests.support.delegating import DelegatingStore

__all__ = ["DelegatingStore"]
