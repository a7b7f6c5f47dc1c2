"""Operator proof at scale (issue #8): a month of a 500-charger fleet by default.

Generates a seeded capture (a simulation of Zaptec bus traffic, with its ground truth),
fills the registry from the Zaptec API simulator, then replays it through the real CLI
against local receivers that fail a share of requests (503, 429 + Retry-After, 500 after
doing the work), SIGKILLing the replay at random points several times and restarting it,
and checks (``tests/support/proof.py``): every event, ticket, session and finance record
exactly once at its receiver, and every uptime figure equal to the ground truth's.

With ``--reference`` an uninterrupted replay of the same capture (same failures, fresh
state) measures throughput and peak memory. Prints a Markdown section for
docs/benchmarks.md. No timing is asserted.

Usage: .venv/bin/python bench/bench_proof.py [--chargers 500 --sites 50 --days 30]
       [--failure-rate 0.05] [--kills 5] [--reference] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cli import environment  # noqa: E402
from tests.support.proof import (  # noqa: E402
    START,
    Capture,
    Runs,
    Scale,
    finish_deliveries,
    make_capture,
    prepare,
    receivers,
    replay_args,
    verify,
)


def reuse(folder: Path, scale: Scale) -> Capture | None:
    """The capture and truth an earlier run generated in ``folder`` (same scale assumed)."""
    path, meta = folder / "capture.jsonl", folder / "truth.pickle"
    if not (path.exists() and meta.exists()):
        return None
    fleet, truth, count = pickle.loads(meta.read_bytes())
    return Capture(path, count, fleet, truth, START, START + timedelta(hours=scale.hours))


def timed_replay(capture: Capture, out: Path, config: Path) -> dict[str, Any]:
    """One uninterrupted replay; its own peak RSS (VmHWM, reported in its summary)."""
    env = environment()
    started = time.perf_counter()
    proc = subprocess.Popen(replay_args(capture, out, config), stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    status = proc.wait()
    seconds = time.perf_counter() - started
    assert status == 0, f"replay failed ({status})"
    summary = json.loads(stdout)
    return {
        "seconds": seconds,
        "lines_per_second": capture.lines / seconds,
        "peak_rss_mb": summary["peak_rss_mb"],
        "events": sum(summary["events"].values()),
        "deliveries": {t: sum(s.values()) for t, s in summary["deliveries"].items()},
        "pending": summary.get("pending_deliveries", 0),
    }


def killed_replays(
    capture: Capture, out: Path, config: Path, kills: int, estimate: float, seed: int
) -> tuple[Runs, list[float]]:
    """Kill ``kills`` runs at random moments (spread over the estimated run time), then
    let one finish. Returns the runs and each run's own peak RSS in MB: VmHWM read just
    before the kill, or from the finishing run's summary. (wait4's ru_maxrss is no use
    here: a child started by fork/vfork inherits this process's high-water mark, and
    this process holds the receivers' records.)"""
    env = environment()
    rng, runs, peaks, started = random.Random(seed), Runs(), [], time.monotonic()
    errors = out.parent / "replay.stderr"
    while True:
        with errors.open("wb") as err:
            proc = subprocess.Popen(
                replay_args(capture, out, config), stdout=subprocess.PIPE, stderr=err, env=env
            )
        runs.runs += 1
        deadline = time.monotonic() + rng.uniform(0.15, 0.45) * estimate
        killed, reaped = False, None
        while runs.kills < kills:  # wait4, not poll: the rusage must not be thrown away
            found = os.wait4(proc.pid, os.WNOHANG)
            if found[0]:
                reaped = found
                break
            if time.monotonic() >= deadline:
                peaks.append(_vm_hwm_mb(proc.pid))
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.05)
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        _, status, _ = reaped or os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if killed:
            runs.kills += 1
            print(f"  killed run {runs.runs} at {time.monotonic() - started:.0f}s", flush=True)
            continue
        assert proc.returncode == 0, errors.read_text(errors="replace")[-2000:]
        runs.summaries.append(json.loads(stdout))
        peaks.append(runs.summaries[-1]["peak_rss_mb"])
        break
    runs.seconds = time.monotonic() - started
    return runs, peaks


def _vm_hwm_mb(pid: int) -> float:
    """A live process's own peak resident memory (Linux /proc VmHWM), MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=500)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--failure-rate", type=float, default=0.05)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--reference", action="store_true", help="also time an unkilled run")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a tmp dir)")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: reuse a capture generated there"
    )
    args = parser.parse_args()
    scale = Scale(
        seed=args.seed, sites=args.sites, chargers=args.chargers, hours=args.days * 24,
        failure_rate=args.failure_rate, kills=args.kills,
    )  # fmt: skip
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-proof-"))
    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        capture = reuse(folder, scale) if args.reuse else None
        capture = capture or make_capture(folder, scale)
        figures["generate_seconds"] = time.perf_counter() - t0
        size = capture.path.stat().st_size / 1e6
        print(f"capture: {capture.lines:,} lines, {size:,.0f} MB, "
              f"{figures['generate_seconds']:.0f}s", flush=True)  # fmt: skip
        estimate = capture.lines / 12_000  # seconds; refined by --reference
        if args.reference:
            ref = folder / "reference"
            ref.mkdir(exist_ok=True)
            with receivers(scale) as (_, urls):
                config, state = prepare(ref, capture.fleet, urls)
                figures["reference"] = timed_replay(capture, state.parent, config)
            estimate = figures["reference"]["seconds"]
            print(f"reference: {json.dumps(figures['reference'])}", flush=True)
        proof = folder / "proof"
        proof.mkdir(exist_ok=True)
        with receivers(scale) as (found, urls):
            config, state = prepare(proof, capture.fleet, urls)
            runs, peaks = killed_replays(
                capture, state.parent, config, scale.kills, estimate, scale.seed
            )
            finish_deliveries(capture, state.parent, config, found, runs)
            figures["proof"] = {"runs": runs.runs, "kills": runs.kills, "seconds": runs.seconds,
                                "peak_rss_mb": [round(p) for p in peaks]}  # fmt: skip
            t1 = time.perf_counter()
            figures["checked"] = verify(capture, state.parent, config, found)
            figures["verify_seconds"] = time.perf_counter() - t1
        print(report(capture, scale, figures))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def report(capture: Capture, scale: Scale, f: dict[str, Any]) -> str:
    checked, proof = f["checked"], f["proof"]
    lines = [
        f"### Proof: {scale.chargers} chargers, {scale.sites} sites, "
        f"{scale.hours / 24:g} days (seed {scale.seed})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}. Capture: {capture.lines:,} lines "
        f"({capture.path.stat().st_size / 1e6:,.0f} MB), generated in "
        f"{f['generate_seconds']:.0f} s.",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    if "reference" in f:
        ref = f["reference"]
        lines += [
            f"| uninterrupted replay (receivers failing {scale.failure_rate:.0%}) | "
            f"{ref['seconds']:.0f} s, {ref['lines_per_second']:,.0f} lines/s |",
            f"| peak RSS, uninterrupted replay | {ref['peak_rss_mb']:.0f} MB |",
        ]
    lines += [
        f"| killed-and-resumed proof | {proof['runs']} runs, {proof['kills']} SIGKILLs, "
        f"{proof['seconds']:.0f} s in all |",
        f"| peak RSS of each measured proof run, MB | {proof['peak_rss_mb']} |",
        f"| events | {sum(checked['events'].values()):,} ({json.dumps(checked['events'])}) |",
        f"| deliveries (each key delivered once) | {checked['deliveries']:,} |",
        f"| tickets opened once and closed once | {checked['tickets']:,} "
        f"({checked['tickets_open_at_end']} still open: silent at the capture's end) |",
        f"| finance records, once each at the receiver | {checked['finance_records']:,} |",
        f"| injected failures answered | {json.dumps(checked['injected_failures'])} |",
        f"| re-sends deduplicated by receivers | "
        f"{json.dumps(checked['duplicates_at_receivers'])} |",
        f"| fleet uptime (equal to the ground truth, per charger and site) | "
        f"{checked['fleet_uptime_percent']} % |",
        f"| verification | {f['verify_seconds']:.0f} s |",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
