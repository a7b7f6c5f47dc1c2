"""Fixtures for the infra tests: the parsed Bicep tree and the checkov report (once per run)."""

from __future__ import annotations

from typing import Any

import pytest

from ._iac import BicepFile, parse_bicep_tree, run_checkov


@pytest.fixture(scope="session")
def bicep() -> dict[str, BicepFile]:
    return {path: BicepFile(path, doc) for path, doc in parse_bicep_tree().items()}


@pytest.fixture(scope="session")
def main_bicep(bicep: dict[str, BicepFile]) -> BicepFile:
    return bicep["main.bicep"]


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    return run_checkov()
