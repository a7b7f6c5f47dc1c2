"""SQLite writes in one statement each (issue 16): ``put`` (upsert, insert-only, compare
and swap) and ``append`` keep the contract's versions, refusals and sequence numbers,
inside and outside units of work, and a unit rolled back inside a batch leaves nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.storage.base import AlreadyExists, Conflict
from shared.storage.sqlite import SqliteStore


def _at(store: SqliteStore, key: str) -> tuple[object, str] | None:
    """A record's value and version, or None."""
    entry = store.get("k", key)
    return None if entry is None else (entry.value, entry.version)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "s.sqlite3")


def test_upsert_counts_versions_from_one(store: SqliteStore) -> None:
    assert [store.put("k", "a", {"n": n}) for n in range(3)] == ["1", "2", "3"]
    assert _at(store, "a") == ({"n": 2}, "3")


def test_insert_only_refuses_a_present_record_and_changes_nothing(store: SqliteStore) -> None:
    assert store.put("k", "a", {"n": 1}, expect=None) == "1"
    with pytest.raises(AlreadyExists):
        store.put("k", "a", {"n": 2}, expect=None)
    assert _at(store, "a") == ({"n": 1}, "1")


@pytest.mark.parametrize("stale", ["2", "01", " 1", "1.0", "x", ""])
def test_compare_and_swap_takes_only_the_exact_version(store: SqliteStore, stale: str) -> None:
    store.put("k", "a", {"n": 1})
    with pytest.raises(Conflict):
        store.put("k", "a", {"n": 2}, expect=stale)
    assert store.put("k", "a", {"n": 3}, expect="1") == "2"
    with pytest.raises(Conflict):
        store.put("k", "missing", {"n": 1}, expect="1")
    assert store.get("k", "missing") is None
    assert _at(store, "a") == ({"n": 3}, "2")


def test_append_numbers_new_entries_and_skips_known_ones(store: SqliteStore) -> None:
    assert store.append("l", [("a", {"v": 1})]) == [(1, {"v": 1})]
    added = store.append("l", [("b", {"v": 2}), ("a", {"v": 9}), ("c", {"v": 3})])
    assert added == [(2, {"v": 2}), (3, {"v": 3})]
    assert store.append("l", [("c", {"v": 4})]) == []
    assert store.append("other", [("a", {"v": 1})]) == [(1, {"v": 1})]
    assert store.read("l") == [(1, {"v": 1}), (2, {"v": 2}), (3, {"v": 3})]
    assert store.seq_of("l", "c") == 3


def test_a_unit_rolled_back_inside_a_batch_leaves_nothing(store: SqliteStore) -> None:
    with store.batch():
        with store.transaction():
            store.put("k", "kept", {"n": 1})
            store.append("l", [("kept", {})])
        with pytest.raises(RuntimeError):
            _failing_unit(store)
        with pytest.raises(AlreadyExists):
            _refused_unit(store)
        store.append("l", [("after", {})])
    assert _at(store, "kept") == ({"n": 1}, "1")
    assert _at(store, "gone") is None
    assert _at(store, "deep") is None
    assert [seq for seq, _ in store.read("l")] == [1, 2]
    assert store.seq_of("l", "after") == 2


def _failing_unit(store: SqliteStore) -> None:
    with store.transaction():
        store.put("k", "kept", {"n": 2})
        store.put("k", "gone", {"n": 1}, expect=None)
        store.append("l", [("gone", {}), ("also", {})])
        with store.transaction():  # nested: part of the same unit
            store.put("k", "deep", {})
        raise RuntimeError("consumer failed")


def _refused_unit(store: SqliteStore) -> None:
    with store.transaction():
        store.put("k", "gone", {"n": 1})
        store.put("k", "kept", {}, expect=None)  # a refusal rolls its unit back too


def test_a_failed_transaction_outside_a_batch_rolls_back(store: SqliteStore) -> None:
    store.put("k", "a", {"n": 1})
    with pytest.raises(ValueError):
        _failing_outer(store)
    assert _at(store, "a") == ({"n": 1}, "1")
    assert store.read("l") == []
    with store.transaction():  # usable again afterwards
        store.put("k", "a", {"n": 3}, expect="1")
    assert _at(store, "a") == ({"n": 3}, "2")


def _failing_outer(store: SqliteStore) -> None:
    with store.transaction():
        store.put("k", "a", {"n": 2})
        store.append("l", [("x", {})])
        raise ValueError


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(["any", "new", "cas"]))))
def test_versions_follow_the_contract(ops: list[tuple[str, str]]) -> None:
    """Against a model: every write bumps its record's version by one or is refused."""
    store = SqliteStore(":memory:")
    model: dict[str, int] = {}
    for key, how in ops:
        if how == "any":
            assert store.put("k", key, {"v": key}) == str(model.get(key, 0) + 1)
        elif how == "new":
            if key in model:
                with pytest.raises(AlreadyExists):
                    store.put("k", key, {}, expect=None)
                continue
            assert store.put("k", key, {}, expect=None) == "1"
        else:
            if key not in model:
                with pytest.raises(Conflict):
                    store.put("k", key, {}, expect="1")
                continue
            assert store.put("k", key, {}, expect=str(model[key])) == str(model[key] + 1)
        model[key] = model.get(key, 0) + 1
    assert {k: e.version for k, e in store.scan("k")} == {k: str(v) for k, v in model.items()}


def test_released_closes_the_connection_for_the_block_and_opens_it_again(
    store: SqliteStore,
) -> None:
    """For a fork (shared.app.beside): no connection inside the block, all data after."""
    store.put("k", "a", {"n": 1})
    with store.released():
        with pytest.raises(sqlite3.ProgrammingError):  # closed: nothing to inherit
            store.get("k", "a")
        other = SqliteStore(store.location)  # another process's connection meanwhile
        other.put("k", "b", {"n": 2})
        other.close()
    assert _at(store, "a") == ({"n": 1}, "1")
    assert _at(store, "b") == ({"n": 2}, "1")
    assert store.put("k", "a", {"n": 3}, expect="1") == "2"


def test_released_is_refused_inside_a_unit_of_work(store: SqliteStore) -> None:
    with store.transaction(), pytest.raises(RuntimeError, match="unit of work"):
        store.released().__enter__()
    assert store.put("k", "a", {"n": 1}) == "1"  # the store still works
