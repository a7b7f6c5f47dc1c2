"""Output files stay level with the store's logs, even when a writer died mid-append."""

from __future__ import annotations

import json
from pathlib import Path

from shared.app.output_files import FileSink
from shared.storage.sqlite import SqliteStore


def lines(path: Path) -> list[dict[str, int]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_tail_written_after_the_last_confirmation_is_replaced(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    path = tmp_path / "events.jsonl"
    sink = FileSink(store, "events", path)
    sink.open()
    store.append("events", [("a", {"n": 1}), ("b", {"n": 2})])
    sink.flush()
    # a killed writer: it appended entries 3 and 4 (one half-written) but never confirmed
    store.append("events", [("c", {"n": 3}), ("d", {"n": 4})])
    with path.open("a") as f:
        f.write('{"n":3}\n{"n":')
    again = FileSink(store, "events", path)
    again.open()
    again.flush()
    assert lines(path) == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]


def test_a_new_file_starts_at_the_end_of_the_log(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    store.append("events", [("a", {"n": 1})])
    sink = FileSink(store, "events", tmp_path / "fresh.jsonl")
    sink.open()
    store.append("events", [("b", {"n": 2})])
    sink.flush()
    assert lines(tmp_path / "fresh.jsonl") == [{"n": 2}]


def test_a_deleted_file_is_continued_not_refilled(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    path = tmp_path / "e.jsonl"
    sink = FileSink(store, "events", path)
    sink.open()
    store.append("events", [("a", {"n": 1})])
    sink.flush()
    path.unlink()
    store.append("events", [("b", {"n": 2})])
    again = FileSink(store, "events", path)
    again.open()
    again.flush()
    assert lines(path) == [{"n": 2}]


def test_flushing_twice_writes_nothing_new(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    sink = FileSink(store, "events", tmp_path / "e.jsonl")
    sink.open()
    store.append("events", [("a", {"n": 1})])
    assert sink.flush() == 1
    assert sink.flush() == 0
