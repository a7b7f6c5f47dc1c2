"""The consumers in a second process beside ingest (``shared.app.beside``, issue 16): the
same state and files as one process, its failures and log records come back to the
replay, and it dies with the replay."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from shared.app.beside import ConsumerProcessError, can_fork
from shared.app.compose import App, open_local
from shared.app.replay import ReplayOptions, replay
from shared.app.summary import Summary
from shared.config.loader import default_config
from shared.consumers.finance.consumer import FinanceConsumer
from shared.notify.targets import UnsupportedKind
from shared.storage.sqlite import SqliteStore
from tests.support.cli import CHARGEOPS, environment

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"
CHUNK = 1000  # the sample day in 13 commits, so the two processes take turns


def run(out: Path, *, beside: bool, progress: Any = None) -> Summary:
    app = open_local(default_config(out), SqliteStore(out / "state.sqlite3"))
    try:
        return replay(app, ReplayOptions(str(SAMPLE), out, chunk=CHUNK, beside=beside), progress)
    finally:
        app.close()


def files(out: Path) -> dict[str, Any]:
    deliveries = [json.loads(x) for x in (out / "deliveries.jsonl").read_text().splitlines()]
    return {
        "events": (out / "events.jsonl").read_bytes(),
        "rejected": (out / "rejected.jsonl").read_bytes(),
        "deliveries": [{k: v for k, v in d.items() if k != "at"} for d in deliveries],
        "outbox": {p.name: json.loads(p.read_text()) for p in (out / "outbox").glob("*.json")},
    }


def state(out: Path) -> dict[str, Any]:
    """Every record and log entry, but the output files' marks (they name the folder)."""
    with sqlite3.connect(out / "state.sqlite3") as db:
        kv = {(k, key): v for k, key, v in db.execute("SELECT kind, key, value FROM kv")}
        logs = list(db.execute("SELECT log, seq, dedup, value FROM log ORDER BY log, seq"))
    return {"kv": {k: v for k, v in kv.items() if k[0] != "sink"}, "logs": logs}


def _unstamped(outbox: dict[str, Any]) -> dict[str, Any]:
    for request in outbox.values():
        request["headers"].pop("webhook-timestamp", None)  # the wall clock of the send
    return outbox


def test_beside_ingest_the_state_and_files_are_those_of_one_process(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    alone = run(one, beside=False)
    beside = run(two, beside=True)
    assert alone.consumers_peak_rss_mb is None
    assert beside.consumers_peak_rss_mb is not None  # the second process did the work
    a, b = files(one), files(two)
    assert sum(beside.events.values()) == sum(alone.events.values()) > 50
    assert beside.deliveries == alone.deliveries
    assert b["events"] == a["events"]
    assert b["rejected"] == a["rejected"]
    assert b["deliveries"] == a["deliveries"]
    assert _unstamped(b["outbox"]) == _unstamped(a["outbox"])
    assert state(two) == state(one)


def test_a_consumers_process_that_dies_is_reported_and_the_next_run_resumes(
    tmp_path: Path,
) -> None:
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    run(whole, beside=False)
    progress_calls = 0

    def kill_consumers(lines: int, offset: int) -> None:
        nonlocal progress_calls
        progress_calls += 1
        if progress_calls == 4:
            for child in multiprocessing.active_children():
                if child.name == "chargeops-consumers" and child.pid is not None:
                    os.kill(child.pid, signal.SIGKILL)

    with pytest.raises(ConsumerProcessError, match="run again to resume"):
        run(broken, beside=True, progress=kill_consumers)
    run(broken, beside=True)
    a, b = files(whole), files(broken)
    assert b["events"] == a["events"]
    assert b["rejected"] == a["rejected"]
    assert _unstamped(b["outbox"]) == _unstamped(a["outbox"])
    delivered = sorted(d["idempotency_key"] for d in b["deliveries"] if d["status"] == "delivered")
    assert delivered == sorted(
        d["idempotency_key"] for d in a["deliveries"] if d["status"] == "delivered"
    )


def test_a_consumers_error_is_raised_by_the_replay_as_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configuration error found by the consumers stays one (exit 2 on the command
    line), not a generic failure of the other process."""

    def refuse(self: App, *, per_message: bool = False) -> Any:
        raise UnsupportedKind("target 'ops': kind 'fax' is not supported")

    monkeypatch.setattr(App, "consumers", refuse)
    with pytest.raises(UnsupportedKind, match="fax"):
        run(tmp_path / "out", beside=True)


def test_the_consumers_log_records_reach_the_replays_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = FinanceConsumer.handle
    poisoned: list[str] = []

    def handle(self: FinanceConsumer, event: dict[str, Any]) -> None:
        if event["type"] == "session.completed" and not poisoned:
            poisoned.append(event["id"])  # in the other process: only its first session
            raise ArithmeticError("a value nobody foresaw")
        original(self, event)

    monkeypatch.setattr(FinanceConsumer, "handle", handle)
    with caplog.at_level(logging.ERROR, logger="chargeops.replay"):
        run(tmp_path / "out", beside=True)
    failed = [r for r in caplog.records if "could not be handled" in r.getMessage()]
    assert len(failed) == 1
    assert failed[0].name == "chargeops.replay"
    assert "ArithmeticError: a value nobody foresaw" in (failed[0].exc_text or "")
    rejected = (tmp_path / "out" / "rejected.jsonl").read_text()
    assert '"reason":"consumer_error"' in rejected


@pytest.mark.skipif(not can_fork(), reason="one core: replay keeps its consumers in-process")
def test_no_consumers_process_outlives_a_killed_replay(big: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(CHARGEOPS), "replay", str(big), "--out", str(tmp_path / "out"), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    kids: list[int] = []
    while not kids and time.monotonic() < deadline and proc.poll() is None:
        kids = _children(proc.pid)
        time.sleep(0.01)
    assert kids, "the replay started no consumers' process"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in kids):
        time.sleep(0.05)
    assert not any(_running(pid) for pid in kids)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a reaper (a container's init may not reap)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def test_ctrl_c_stops_both_processes_and_the_next_run_resumes(big: Path, tmp_path: Path) -> None:
    """SIGINT to the whole process group, as a terminal sends it: the replay says how to
    go on (exit 130), its consumers' process ends, and the next run ends like one run."""
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    command = [str(CHARGEOPS), "replay", str(big), "--quiet"]
    one = subprocess.run([*command, "--out", str(whole)], env=environment(), check=False)
    assert one.returncode == 0
    proc = subprocess.Popen(
        [*command, "--out", str(stopped)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=environment(), start_new_session=True,
    )  # fmt: skip
    events = stopped / "events.jsonl"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:  # mid-run: a chunk settled
        if events.exists() and events.stat().st_size > 0:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the replay ended before its first chunk was seen"
    kids = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "interrupted; run again to resume" in err.decode()
    assert "Traceback" not in err.decode()
    assert not any(_running(pid) for pid in kids)
    again = subprocess.run([*command, "--out", str(stopped)], env=environment(), check=False)
    assert again.returncode == 0
    a, b = files(whole), files(stopped)
    assert b["events"] == a["events"]
    assert b["rejected"] == a["rejected"]
    assert sorted(b["outbox"]) == sorted(a["outbox"])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_the_command_line_says_which_way_it_ran(tmp_path: Path) -> None:
    """``--one-process`` keeps the consumers in the replay; by default, on two cores on
    Linux, the summary names the second process's peak memory."""
    runs = {}
    for name, extra in (("default", []), ("one", ["--one-process"])):
        done = subprocess.run(
            [str(CHARGEOPS), "replay", str(SAMPLE), "--out", str(tmp_path / name), "--json",
             "--quiet", *extra],
            capture_output=True, text=True, env=environment(), check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[name] = json.loads(done.stdout)
    assert runs["one"]["consumers_peak_rss_mb"] is None
    assert (runs["default"]["consumers_peak_rss_mb"] is not None) == can_fork()
    assert runs["default"]["events"] == runs["one"]["events"]
    assert runs["default"]["deliveries"] == runs["one"]["deliveries"]
    one, default = files(tmp_path / "one"), files(tmp_path / "default")
    assert default["events"] == one["events"]
