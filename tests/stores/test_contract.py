"""The store contract (shared.storage.base), run unchanged against SQLite and Azure Tables."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shared.storage.base import ANY, AlreadyExists, Conflict, Store
from tests.stores.conftest import Opener

# Keys Azure would refuse as they are (/ \ # ? and control characters), our escape
# character, quotes, non-ASCII and the empty key: all must work and sort as in SQLite.
AWKWARD = [
    "",
    "a/b",
    "a\\b",
    "a#1",
    "a?x=1",
    "tab\tkey",
    "nul\x00key",
    "~7E",
    "100%",
    "it's",
    'say "hi"',
    "space key",
    "plus+sign",
    "caf\u00e9",
    "\u65e5\u672c",
    "emoji\U0001f50c",
    "events|/tmp/out/events.jsonl",
    "A",
    "a",
    "a-b",
    "a.b",
    "z" * 700,
]


def test_missing_record_is_none(store: Store) -> None:
    assert store.get("charger", "nope") is None
    assert store.get_many("charger", ["nope"]) == {}


def test_insert_only_put_refuses_an_existing_record(store: Store) -> None:
    store.put("delivery", "k1", {"status": "failed"}, expect=None)
    with pytest.raises(AlreadyExists):
        store.put("delivery", "k1", {"status": "delivered"}, expect=None)
    entry = store.get("delivery", "k1")
    assert entry is not None
    assert entry.value == {"status": "failed"}


def test_compare_and_swap_uses_the_version(store: Store) -> None:
    first = store.put("budget", "zaptec", {"used": 1})
    entry = store.get("budget", "zaptec")
    assert entry is not None
    assert entry.version == first
    second = store.put("budget", "zaptec", {"used": 2}, expect=first)
    assert second != first
    with pytest.raises(Conflict):
        store.put("budget", "zaptec", {"used": 3}, expect=first)
    with pytest.raises(Conflict):
        store.put("budget", "absent", {"used": 1}, expect=second)
    entry = store.get("budget", "zaptec")
    assert entry is not None
    assert entry.value == {"used": 2}
    assert entry.version == second


def test_upsert_replaces_the_whole_value(store: Store) -> None:
    store.put("charger", "c1", {"a": 1, "b": 2})
    store.put("charger", "c1", {"a": 3}, expect=ANY)
    entry = store.get("charger", "c1")
    assert entry is not None
    assert entry.value == {"a": 3}


def test_values_round_trip_exactly(store: Store) -> None:
    value = {
        "text": 'caf\u00e9 \U0001f50c \x00 "quoted" \\ /',
        "int": 2**53,
        "neg": -1,
        "float": 0.1,
        "none": None,
        "bool": True,
        "list": [1, "two", {"three": 3}],
        "nested": {"deep": {"deeper": []}},
    }
    store.put("registry", "r", value)
    entry = store.get("registry", "r")
    assert entry is not None
    assert entry.value == value


def test_large_values_round_trip(store: Store) -> None:
    # Larger than one Table string property (64 KiB), with multi-byte characters at the seams.
    value = {"blob": ("\u00e9\U0001f50c" * 40_000), "n": 1}
    store.put("ledger", "big", value)
    store.put_many("ledger", {"big2": value})
    assert store.get_many("ledger", ["big", "big2"])["big2"].value == value
    entry = store.get("ledger", "big")
    assert entry is not None
    assert entry.value == value


def test_awkward_keys_round_trip_and_scan_in_key_order(store: Store) -> None:
    for i, key in enumerate(AWKWARD):
        store.put("sink", key, {"i": i})
    for i, key in enumerate(AWKWARD):
        entry = store.get("sink", key)
        assert entry is not None, repr(key)
        assert entry.value == {"i": i}
    assert [key for key, _ in store.scan("sink")] == sorted(AWKWARD)
    found = store.get_many("sink", AWKWARD)
    assert {k: e.value["i"] for k, e in found.items()} == {k: i for i, k in enumerate(AWKWARD)}


@pytest.mark.parametrize("prefix", ["", "a", "a/", "caf", "events|/tmp", "~", "zz", "nomatch"])
def test_scan_by_prefix(store: Store, prefix: str) -> None:
    for key in AWKWARD:
        store.put("sink", key, {})
    store.put("other", "a", {})
    expected = sorted(k for k in AWKWARD if k.startswith(prefix))
    assert [key for key, _ in store.scan("sink", prefix)] == expected


def test_kinds_are_separate(store: Store) -> None:
    store.put("alert", "x", {"v": 1})
    store.put("alerts", "x", {"v": 2})
    store.put("aler", "tx", {"v": 3})
    assert [(k, e.value) for k, e in store.scan("alert")] == [("x", {"v": 1})]
    assert store.get("alerts", "x") is not None


def test_put_many_upserts_beyond_one_batch(store: Store) -> None:
    items = {f"charger-{i:04d}": {"i": i} for i in range(250)}
    store.put("charger", "charger-0000", {"old": True})
    store.put_many("charger", items)
    store.put_many("charger", {})
    got = store.get_many("charger", list(items))
    assert {k: e.value for k, e in got.items()} == items
    assert [k for k, _ in store.scan("charger")] == sorted(items)


def test_get_many_ignores_missing_and_repeated_keys(store: Store) -> None:
    store.put("charger", "a", {"v": "a"})
    store.put("charger", "b", {"v": "b"})
    got = store.get_many("charger", ["a", "missing", "b", "a", *[f"m{i}" for i in range(40)]])
    assert {k: e.value for k, e in got.items()} == {"a": {"v": "a"}, "b": {"v": "b"}}


def test_delete_removes_and_tolerates_absence(store: Store) -> None:
    store.put("pending", "k", {"x": 1})
    store.delete("pending", "k")
    store.delete("pending", "k")
    assert store.get("pending", "k") is None
    assert list(store.scan("pending")) == []


def test_append_assigns_sequence_numbers_and_deduplicates(store: Store) -> None:
    assert store.head("events") == 0
    assert store.read("events") == []
    added = store.append("events", [("e1", {"n": 1}), ("e2", {"n": 2}), ("e1", {"n": 9})])
    assert added == [(1, {"n": 1}), (2, {"n": 2})]
    again = store.append("events", [("e2", {"n": 2}), ("e3", {"n": 3}), ("e1", {"n": 1})])
    assert again == [(3, {"n": 3})]
    assert store.append("events", []) == []
    assert store.append("events", [("e3", {"n": 3})]) == []
    assert store.head("events") == 3
    assert store.read("events") == [(1, {"n": 1}), (2, {"n": 2}), (3, {"n": 3})]
    assert store.seq_of("events", "e2") == 2
    assert store.seq_of("events", "nope") is None


def test_logs_are_separate_and_keys_may_be_awkward(store: Store) -> None:
    store.append("events", [(k, {"k": k}) for k in AWKWARD])
    store.append("deliveries", [("a#1", {"x": 1})])
    assert store.head("events") == len(AWKWARD)
    assert store.head("deliveries") == 1
    assert [v["k"] for _, v in store.read("events")] == AWKWARD
    for i, key in enumerate(AWKWARD, start=1):
        assert store.seq_of("events", key) == i
    assert store.seq_of("deliveries", "a#1") == 1


def test_read_pages_with_after_and_limit(store: Store) -> None:
    store.append("rejections", [(f"d{i}", {"i": i}) for i in range(1, 131)])
    assert store.head("rejections") == 130
    page = store.read("rejections", after=0, limit=50)
    assert [s for s, _ in page] == list(range(1, 51))
    page = store.read("rejections", after=100, limit=50)
    assert [s for s, _ in page] == list(range(101, 131))
    assert store.read("rejections", after=130) == []
    assert store.read("rejections", after=5, limit=1) == [(6, {"i": 6})]
    everything = []
    after = 0
    while rows := store.read("rejections", after, 17):
        everything.extend(rows)
        after = rows[-1][0]
    assert [v["i"] for _, v in everything] == list(range(1, 131))


def test_large_log_entries(store: Store) -> None:
    big = {"data": "x" * 200_000}
    assert store.append("events", [("big", big), ("small", {})]) == [(1, big), (2, {})]
    assert store.read("events") == [(1, big), (2, {})]


def test_transaction_applies_the_writes(store: Store) -> None:
    with store.transaction():
        store.put("charger", "c", {"v": 1})
        with store.transaction():
            store.append("events", [("e", {"v": 1})])
        store.put_many("charger", {"d": {"v": 2}})
    assert store.get("charger", "c") is not None
    assert store.get("charger", "d") is not None
    assert store.head("events") == 1


def test_ping(store: Store) -> None:
    assert store.ping() is True


def test_concurrent_appenders_never_share_or_skip_a_sequence(store: Store, opener: Opener) -> None:
    """Two processes' stores append overlapping entries at once: every key lands once,
    seqs are 1..N without gaps, and each entry was reported as added by exactly one."""
    keys = [f"k{i:03d}" for i in range(120)]
    results: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    errors: list[BaseException] = []

    def work(name: str, order: list[str]) -> None:
        try:
            target = opener()  # a connection per thread, as two processes would have
            out = []
            for start in range(0, len(order), 10):
                out.extend(
                    target.append("events", [(k, {"k": k}) for k in order[start : start + 10]])
                )
            results[name] = out
            target.close()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=("a", keys)),
        threading.Thread(target=work, args=("b", list(reversed(keys)))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = store.read("events", 0, 1000)
    assert [s for s, _ in rows] == list(range(1, len(keys) + 1))
    assert sorted(v["k"] for _, v in rows) == keys
    reported = sorted(v["k"] for out in results.values() for _, v in out)
    assert reported == keys
    assert store.head("events") == len(keys)


def test_concurrent_compare_and_swap_loses_no_update(store: Store, opener: Opener) -> None:
    store.put("budget", "counter", {"n": 0})
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            target = opener()
            for _ in range(15):
                while True:
                    entry = target.get("budget", "counter")
                    assert entry is not None
                    try:
                        target.put(
                            "budget", "counter", {"n": entry.value["n"] + 1}, expect=entry.version
                        )
                        break
                    except Conflict:
                        continue
            target.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    entry = store.get("budget", "counter")
    assert entry is not None
    assert entry.value == {"n": 30}
