"""Captures generated once per session for the replay tests (a simulation of traffic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulators.traffic import Truth, generate

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"


def write_capture(path: Path, **kw: Any) -> Truth:
    _, truth, lines = generate(**kw)
    with path.open("w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
    return truth


@pytest.fixture(scope="session")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    """The shipped sample day and its ground truth (same seed as samples/)."""
    path = tmp_path_factory.mktemp("capture") / "day.jsonl"
    truth = write_capture(path)
    assert path.read_bytes() == SAMPLE.read_bytes(), "samples/sample-day.jsonl is stale"
    return path, truth


@pytest.fixture(scope="session")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A larger fleet-day for kill-and-resume runs."""
    path = tmp_path_factory.mktemp("capture") / "big.jsonl"
    write_capture(path, seed=11, sites=8, chargers=60, hours=24)
    return path
