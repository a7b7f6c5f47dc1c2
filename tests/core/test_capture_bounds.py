"""Capture reading holds at most a block plus one line's limit, whatever the input
(issue 17, finding 10: a 200 MB line took 650 MB; an 18 MB gzip bomb with no newline
ended in MemoryError)."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

from shared.inbound.capture import read_capture
from shared.inbound.decode import MAX_LINE
from shared.inbound.observations import Rejection

GOOD = (
    '{"ChargerId":"4b0c2a8e-3f1d-4c5e-9a7b-1d2e3f4a5b6c","StateId":-2,'
    '"Timestamp":"2026-04-26T10:00:00Z","ValueAsString":"1"}'
)


def _read(path: Path) -> tuple[list[object], int]:
    """Every line decoded, and the peak memory of reading them (decoding one line is
    bounded by the line limit itself)."""
    tracemalloc.start()
    try:
        lines = [line for _, line, _ in read_capture(str(path))]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return [line.decode() if line is not None else None for line in lines], peak


def test_a_gzip_bomb_without_a_newline_is_one_rejection_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        for _ in range(64):
            f.write(b"{" * (1 << 20))  # 64 MB unpacked, a few hundred KB packed
    assert bomb.stat().st_size < 1 << 20
    got, peak = _read(bomb)
    assert len(got) == 1
    assert isinstance(got[0], Rejection)
    assert got[0].code == "line_too_long"
    assert str(64 << 20) in got[0].detail
    assert peak < 6 * MAX_LINE  # the lines kept (one is 1 MiB) plus a block: not 20 MB


def test_a_long_line_is_skipped_and_the_next_one_still_read(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    with capture.open("wb") as f:
        f.write(GOOD.encode() + b"\n")
        f.write(b"x" * (20 << 20) + b"\n")  # 20 MB
        f.write(GOOD.encode() + b"\n")
        f.write(b"y" * (MAX_LINE - 1) + b"\n")  # with its newline, exactly the limit
    got, peak = _read(capture)
    assert [type(g).__name__ for g in got] == [
        "Observation",
        "Rejection",
        "Observation",
        "Rejection",
    ]
    long, bad = got[1], got[3]
    assert isinstance(long, Rejection)
    assert isinstance(bad, Rejection)
    assert long.code == "line_too_long"
    assert bad.code == "invalid_json"  # read, then refused
    assert peak < 6 * MAX_LINE  # the lines kept (one is 1 MiB) plus a block: not 20 MB
