"""Issue 17's "done when": a seeded corpus of hostile lines (hundreds per class) mixed
into the shipped sample day is rejected line by line with a stable reason, and the events
equal those of the valid lines alone; the run is the real ``chargeops replay``."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.fuzz.corpus import CLASSES, CODES, hostile, observations
from tests.support.cli import RunCli

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"
PER_CLASS = 300  # 3,000 hostile lines among 12,376 valid ones


def _events(out: Path) -> list[dict[str, object]]:
    """The events, by id: where commits fall (every 5,000 input lines) decides the order
    of a batch's events in the file, and hostile lines move those boundaries."""
    found = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    return sorted(found, key=lambda e: str(e["id"]))


def test_hostile_lines_are_each_rejected_and_change_no_event(
    run_cli: RunCli, tmp_path: Path
) -> None:
    valid = SAMPLE.read_text().splitlines()
    rng = random.Random(17)
    bad = list(hostile(observations(valid), rng, PER_CLASS))
    # One hostile line per gap between valid lines: a far-future frame is then always
    # followed by a valid one, which is what refuses it.
    gaps = sorted(rng.sample(range(1, len(valid) + 1), len(bad)))
    mixed: list[str] = []
    expected: dict[int, str] = {}  # line number -> the class of the hostile line there
    moved: dict[int, int] = {}  # a valid line's number -> its number in the mixed capture
    gap_iter = iter(zip(gaps, bad, strict=True))
    nxt = next(gap_iter, None)
    for i, line in enumerate(valid, start=1):
        mixed.append(line)
        moved[i] = len(mixed)
        while nxt is not None and nxt[0] == i:
            mixed.append(nxt[1][1])
            expected[len(mixed)] = nxt[1][0]
            nxt = next(gap_iter, None)
    clean_in, mixed_in = tmp_path / "valid.jsonl", tmp_path / "mixed.jsonl"
    clean_in.write_text("\n".join(valid) + "\n")
    mixed_in.write_text("\n".join(mixed) + "\n", errors="surrogatepass")

    clean = run_cli("replay", str(clean_in), "--out", str(tmp_path / "a"), "--quiet", "--json")
    dirty = run_cli("replay", str(mixed_in), "--out", str(tmp_path / "b"), "--quiet", "--json")
    assert clean.returncode == 0, clean.stderr
    assert dirty.returncode == 0, dirty.stderr

    refused_anyway = {  # the sample's own bad lines
        moved[r["line"]]
        for r in map(json.loads, (tmp_path / "a" / "rejected.jsonl").read_text().splitlines())
    }
    rejected = {
        r["line"]: r
        for r in map(json.loads, (tmp_path / "b" / "rejected.jsonl").read_text().splitlines())
    }
    missed = {n: (cls, mixed[n - 1][:160]) for n, cls in expected.items() if n not in rejected}
    assert not missed, f"{len(missed)} hostile lines not rejected: {list(missed.items())[:5]}"
    assert set(rejected) == set(expected) | refused_anyway, "a valid line was rejected"
    assert {r["reason"] for r in rejected.values()} <= CODES
    assert len(expected) == PER_CLASS * len(CLASSES)
    by_class: dict[str, set[str]] = {}
    for n, cls in expected.items():
        by_class.setdefault(cls, set()).add(rejected[n]["reason"])
    assert set(by_class) == set(CLASSES)
    assert by_class["duplicate_key"] == {"duplicate_key"}
    assert by_class["future"] == {"timestamp_ahead"}
    events = _events(tmp_path / "a")
    assert len(events) > 100  # the valid day means something
    assert _events(tmp_path / "b") == events
