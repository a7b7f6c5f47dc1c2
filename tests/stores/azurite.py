"""Moved to ``tests/support/azurite.py``; kept until tests/azure imports it from there."""

from tests.support.azurite import Azurite, azurite

__all__ = ["Azurite", "azurite"]
