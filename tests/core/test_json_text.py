"""Stored values are written by orjson as the standard library would write them (issue 16):
the same compact text for what a replay stores, equal values back for any JSON value, and
the standard library's answer wherever orjson would differ (shared.json_text)."""

from __future__ import annotations

import enum
import json
import math
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import json_text as codec
from tests.support.cli import console

ROOT = Path(__file__).resolve().parents[2]
STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
no_floats = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(values)
def test_any_json_value_reads_back_equal(value: Any) -> None:
    assert codec.loads(codec.dumps(value)) == value
    assert json.loads(codec.dumps(value)) == value


@given(no_floats)
def test_without_floats_the_text_is_the_standard_librarys(value: Any) -> None:
    """Floats may be spelt differently (``1e16`` for ``1e+16``); all else is identical."""
    assert codec.dumps(value) == STDLIB(value)


class Colour(enum.StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key"},  # orjson refuses a key that is not a string
        [2**70, -(2**70)],  # beyond 64 bits
        {"unit": Colour.RED},  # a str subclass, passed through orjson
        ["\ud800 lone surrogate"],
    ],
)
def test_what_orjson_refuses_the_standard_library_writes(value: Any) -> None:
    assert codec.dumps(value) == STDLIB(value)


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, tzinfo=UTC), {"at": {1, 2}}])
def test_what_the_standard_library_refuses_stays_refused(value: Any) -> None:
    """orjson would write a datetime; a store must not accept what it did not before."""
    with pytest.raises(TypeError):
        STDLIB(value)
    with pytest.raises(TypeError):
        codec.dumps(value)


def test_a_nan_written_by_an_older_version_still_reads() -> None:
    assert math.isnan(codec.loads('{"x":NaN}')["x"])


def test_every_record_a_replay_stores_is_the_standard_librarys_text(tmp_path: Path) -> None:
    """The sample day replayed: each stored value's text is what ``json.dumps`` writes for
    it, so an older version reads this state and this version reads an older one."""
    out = tmp_path / "out"
    done = console(
        "replay", str(ROOT / "samples" / "sample-day.jsonl"), "--out", str(out), "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(out / "state.sqlite3") as db:
        rows = db.execute("SELECT value FROM kv UNION ALL SELECT value FROM log")
        texts = [row[0] for row in rows]
    assert len(texts) > 500  # the sample day stores 667 values
    for text in texts:
        value = json.loads(text)
        assert STDLIB(value) == text
        assert codec.loads(text) == value
