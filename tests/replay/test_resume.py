"""A replay killed with SIGKILL at any point and started again ends exactly like one
uninterrupted run (real subprocesses, real signals, one SQLite file)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.support.cli import CHARGEOPS, environment


def replay(capture: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(CHARGEOPS), "replay", str(capture), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment(),
    )


def outputs(out: Path) -> dict[str, object]:
    deliveries = [json.loads(x) for x in (out / "deliveries.jsonl").read_text().splitlines()]
    return {
        "events": (out / "events.jsonl").read_bytes(),
        "rejected": (out / "rejected.jsonl").read_bytes(),
        "delivered": sorted(
            (d["event_id"], d["idempotency_key"]) for d in deliveries if d["status"] == "delivered"
        ),
        "outbox": sorted(p.name for p in (out / "outbox").glob("*.json")),
    }


def test_sigkill_anywhere_then_resume_equals_one_run(big: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    started = time.monotonic()
    done = replay(big, whole)
    assert done.wait(timeout=300) == 0, done.stderr.read() if done.stderr else ""
    duration = time.monotonic() - started

    rng = random.Random(2026)
    resumed = tmp_path / "resumed"
    kills = 0
    for _ in range(5):
        proc = replay(big, resumed)
        time.sleep(rng.uniform(0.15, 0.9) * duration)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    final = replay(big, resumed)
    assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""
    assert kills >= 3, "the kills must land while the replay is running"

    a, b = outputs(whole), outputs(resumed)
    assert b["events"] == a["events"]  # byte for byte: none missing, none twice, same order
    assert b["rejected"] == a["rejected"]
    assert b["delivered"] == a["delivered"]  # every delivery made, with the same key
    assert b["outbox"] == a["outbox"]
    raw = a["events"]
    assert isinstance(raw, bytes)
    events = [json.loads(x) for x in raw.splitlines()]
    assert len({e["id"] for e in events}) == len(events) > 100
