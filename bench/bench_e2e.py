"""End-to-end replay against ingest alone, on the same capture (issue 16, goal 1).

*End to end* is ``chargeops replay`` in a fresh process with the built-in default config
(every event to a webhook writing files into ``OUT/outbox/``): decoding, the state
machine, commits, the tickets, finance and uptime consumers, the outbox files and the
three output files; on two cores its consumers run in a second process beside ingest
(``shared.app.beside``), and *end to end, --one-process* is the same run in one process.
*Ingest only* is the same process doing what ``chargeops replay`` does up to the commit
of each unit of work and nothing after it: the same capture reader, decoder,
future-clock guard, ``ingest_batch`` and unit of work on a fresh SQLite state, with no
consumer, no delivery and no output file. The ratio says what the consumers cost next to
ingest.

The commands run in turn (A B C A B C …) so drift in the machine's speed (it is shared)
affects all alike; each ratio is taken round by round and the median is reported with the
spread. Peak RSS is each process's own high-water mark (VmHWM, read by the process).

``--against TREE`` measures a change instead: end to end from this tree against end to
end from TREE (a folder holding another version's ``shared/``, e.g. ``git archive
<commit> shared | tar -x -C TREE``), in turn, both started the same way (``python -S``
with TREE or this tree first on the path and site-packages after it, so the editable
install cannot pick the code), each on a fresh ``--out``.

Usage::

    .venv/bin/python bench/bench_e2e.py                    # 150 chargers x 24 h, 5 rounds
    .venv/bin/python bench/bench_e2e.py --chargers 150 --pairs 7 --json
    .venv/bin/python bench/bench_e2e.py --ingest-only CAPTURE OUT   # one ingest-only run
    .venv/bin/python bench/bench_e2e.py --against /tmp/before      # this tree vs another

Prints a Markdown table; numbers go to docs/benchmarks.md. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
CHARGEOPS = Path(sys.executable).parent / "chargeops"


def capture(chargers: int, hours: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """A seeded capture (generated once by ``chargeops sample``, cached) and its summary."""
    path = CACHE / f"e2e-{chargers}x{hours}h-s{seed}.jsonl"
    meta = path.with_suffix(".json")
    if not path.exists() or not meta.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        done = subprocess.run(
            [str(CHARGEOPS), "sample", "--seed", str(seed), "--sites", str(max(3, chargers // 10)),
             "--chargers", str(chargers), "--hours", str(hours), "--output", str(tmp),
             "--json", "--quiet"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        tmp.replace(path)
        meta.write_text(done.stdout)
    return path, json.loads(meta.read_text())


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM), not an inherited rusage figure."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ingest_only(source: str, out: Path) -> dict[str, Any]:
    """What ``chargeops replay`` does up to each commit, and nothing after it."""
    sys.path.insert(0, str(ROOT))
    from shared.app.clock_guard import FutureGuard  # noqa: PLC0415
    from shared.app.compose import open_local  # noqa: PLC0415
    from shared.app.ingest import decode_all, ingest_batch  # noqa: PLC0415
    from shared.app.replay import CHUNK  # noqa: PLC0415
    from shared.config.loader import default_config  # noqa: PLC0415
    from shared.inbound.capture import read_capture  # noqa: PLC0415
    from shared.inbound.envelope import CaptureLine  # noqa: PLC0415
    from shared.storage.sqlite import SqliteStore  # noqa: PLC0415

    started = time.perf_counter()
    # as `chargeops replay` does: each refused line is counted, not logged
    logging.getLogger("chargeops.ingest").addHandler(logging.NullHandler())
    out.mkdir(parents=True, exist_ok=True)
    app = open_local(default_config(out), SqliteStore(out / "state.sqlite3"))
    unit = app.ingest_unit()
    unit.start()
    guard = FutureGuard(unit.clock)

    def ingest(batch: list[CaptureLine], *, last: bool = False) -> None:
        messages, decoded = guard.screen(batch, decode_all(batch))
        if last:
            held, refused = guard.finish()
            messages, decoded = messages + held, decoded + refused
        ingest_batch(app, messages, unit, decoded)

    batch: list[CaptureLine] = []
    for lineno, line, _ in read_capture(source):
        if line is not None:
            batch.append(line)
        if lineno % CHUNK == 0:
            ingest(batch)
            batch = []
    ingest(batch, last=True)
    unit.drain()
    unit.commit()
    seconds = time.perf_counter() - started
    app.close()
    return {
        "read": unit.counts.read,
        "events": sum(unit.counts.events.values()),
        "seconds": round(seconds, 3),
        "messages_per_second": round(unit.counts.read / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _timed(cmd: list[str]) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU (user + system) seconds of a whole fresh process, start-up included,
    and its JSON summary. CPU time is the steadier figure on a shared machine: waiting
    for a core does not count in it."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:2]} failed")
    return wall, usage.ru_utime + usage.ru_stime, json.loads(stdout)


class Outputs:
    """A fresh output folder per run, all deleted only when the bench ends. Deleting a
    run's 1,534 outbox files just before the next run made that run pay for it: ext4's
    inode allocator skips inodes freed in the last minutes (``recently_deleted``, seen
    with ``perf``), 0.3-0.5 s of kernel time spread over the next run's file creations,
    which ingest only (no files) never paid."""

    def __init__(self) -> None:
        self._root = tempfile.TemporaryDirectory(prefix="bench-e2e-")
        self._n = 0

    def fresh(self) -> str:
        self._n += 1
        folder = Path(self._root.name) / str(self._n)
        folder.mkdir()
        return str(folder)

    def close(self) -> None:
        self._root.cleanup()


def run_pairs(path: Path, pairs: int, outputs: Outputs) -> dict[str, Any]:
    """A B C, A B C …: end to end (the default: the consumers in a second process on two
    cores), ingest only, end to end with ``--one-process``; each on a fresh state."""
    rows: list[dict[str, Any]] = []
    replay = [str(CHARGEOPS), "replay", str(path), "--json", "--quiet"]
    for _ in range(pairs + 1):  # the first round warms the page cache and is not counted
        a, b, c = outputs.fresh(), outputs.fresh(), outputs.fresh()
        e2e_wall, e2e_cpu, e2e = _timed([*replay, "--out", a])
        ing_wall, ing_cpu, ing = _timed(
            [sys.executable, __file__, "--ingest-only", str(path), b]
        )  # fmt: skip
        one_wall, one_cpu, one = _timed([*replay, "--out", c, "--one-process"])
        outbox = len(list((Path(a) / "outbox").glob("*.json")))
        rows.append({"e2e_wall": e2e_wall, "e2e_cpu": e2e_cpu, "e2e": e2e, "ing_wall": ing_wall,
                     "ing_cpu": ing_cpu, "ing": ing, "one_wall": one_wall, "one_cpu": one_cpu,
                     "one": one, "outbox_files": outbox})  # fmt: skip
    rows = rows[1:]
    lines = rows[0]["e2e"]["read"]

    def ratios(key: str) -> dict[str, float]:
        """ingest only / ``key`` (time ratio = throughput ratio), wall and CPU, pair by pair."""
        wall = [r["ing_wall"] / r[f"{key}_wall"] for r in rows]
        cpu = [r["ing_cpu"] / r[f"{key}_cpu"] for r in rows]
        return {
            f"{key}_ratio_median": statistics.median(wall),
            f"{key}_ratio_min": min(wall),
            f"{key}_ratio_max": max(wall),
            f"{key}_cpu_ratio_median": statistics.median(cpu),
            f"{key}_cpu_ratio_min": min(cpu),
            f"{key}_cpu_ratio_max": max(cpu),
            f"{key}_msgs_per_s": statistics.median(lines / r[f"{key}_wall"] for r in rows),
            f"{key}_in_run_msgs_per_s": statistics.median(
                r[key]["messages_per_second"] for r in rows
            ),
            f"{key}_cpu_msgs_per_s": statistics.median(lines / r[f"{key}_cpu"] for r in rows),
        }

    return {
        "lines": lines,
        "pairs": pairs,
        **ratios("e2e"),
        **ratios("one"),
        "ingest_cpu_msgs_per_s": statistics.median(lines / r["ing_cpu"] for r in rows),
        "ingest_msgs_per_s": statistics.median(lines / r["ing_wall"] for r in rows),
        "ingest_in_run_msgs_per_s": statistics.median(
            r["ing"]["messages_per_second"] for r in rows
        ),
        "e2e_peak_rss_mb": max(r["e2e"].get("peak_rss_mb") or 0 for r in rows),
        "e2e_consumers_peak_rss_mb": max(r["e2e"].get("consumers_peak_rss_mb") or 0 for r in rows),
        "one_peak_rss_mb": max(r["one"].get("peak_rss_mb") or 0 for r in rows),
        "ingest_peak_rss_mb": max(r["ing"]["peak_rss_mb"] for r in rows),
        "events": sum(rows[0]["e2e"]["events"].values()),
        "deliveries": sum(sum(t.values()) for t in rows[0]["e2e"]["deliveries"].values()),
        "outbox_files": rows[0]["outbox_files"],
        "same_results": all(
            r["one"]["events"] == r["e2e"]["events"]
            and r["one"]["deliveries"] == r["e2e"]["deliveries"]
            for r in rows
        ),
    }


def _replay_from(tree: Path, capture: Path, out: str) -> list[str]:
    """``chargeops replay`` with the code of ``tree``: no site processing (the editable
    install's finder would pick this checkout), site-packages on the path after it."""
    code = (
        "import sys; sys.path[:0] = [sys.argv.pop(1), sys.argv.pop(1)]; sys.argv[0] = "
        "'chargeops'; from shared.cli import main; sys.exit(main())"
    )
    site = sysconfig.get_paths()["purelib"]
    return [sys.executable, "-S", "-c", code, str(tree), site, "replay", str(capture),
            "--out", out, "--json", "--quiet"]  # fmt: skip


def run_against(path: Path, pairs: int, other: Path, outputs: Outputs) -> dict[str, Any]:
    """A B A B …: end to end from this tree (A), then from ``other`` (B), fresh outs."""
    rows: list[tuple[float, float, float, float, float, float]] = []
    for _ in range(pairs + 1):  # the first pair warms the page cache and is not counted
        a, b = outputs.fresh(), outputs.fresh()
        a_wall, a_cpu, a_sum = _timed(_replay_from(ROOT, path, a))
        b_wall, b_cpu, b_sum = _timed(_replay_from(other, path, b))
        rows.append((a_wall, a_cpu, a_sum.get("peak_rss_mb", 0), b_wall, b_cpu,
                     b_sum.get("peak_rss_mb", 0)))  # fmt: skip
    rows = rows[1:]
    wall = [r[0] / r[3] for r in rows]
    cpu = [r[1] / r[4] for r in rows]
    return {
        "pairs": pairs,
        "this_wall_median": statistics.median(r[0] for r in rows),
        "other_wall_median": statistics.median(r[3] for r in rows),
        "this_cpu_median": statistics.median(r[1] for r in rows),
        "other_cpu_median": statistics.median(r[4] for r in rows),
        "wall_ratio_median": statistics.median(wall),
        "wall_ratio_min": min(wall),
        "wall_ratio_max": max(wall),
        "cpu_ratio_median": statistics.median(cpu),
        "cpu_ratio_min": min(cpu),
        "cpu_ratio_max": max(cpu),
        "this_peak_rss_mb": max(r[2] for r in rows),
        "other_peak_rss_mb": max(r[5] for r in rows),
    }


def _against_table(ab: dict[str, Any], path: Path, other: Path) -> str:
    rows = [
        f"capture: {path.name}; A = this tree, B = {other}",
        "",
        f"| measure (median of {ab['pairs']} pairs) | A | B | A/B (spread) |",
        "|---|---:|---:|---:|",
    ]
    for name, key in (("wall s", "wall"), ("CPU s", "cpu")):
        rows.append(
            f"| {name} | {ab[f'this_{key}_median']:.2f} | {ab[f'other_{key}_median']:.2f} | "
            f"{ab[f'{key}_ratio_median']:.2f} ({ab[f'{key}_ratio_min']:.2f}-"
            f"{ab[f'{key}_ratio_max']:.2f}) |"
        )
    rows.append(f"| peak RSS MB | {ab['this_peak_rss_mb']:.0f} | {ab['other_peak_rss_mb']:.0f} | |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=150)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ingest-only", nargs=2, metavar=("CAPTURE", "OUT"))
    parser.add_argument("--against", type=Path, metavar="TREE")
    args = parser.parse_args()
    if args.ingest_only:
        print(json.dumps(ingest_only(args.ingest_only[0], Path(args.ingest_only[1]))))
        return
    path, shape = capture(args.chargers, args.hours, args.seed)
    outputs = Outputs()
    try:
        if args.against:
            ab = run_against(path, args.pairs, args.against.resolve(), outputs)
            ab |= {"capture": shape}
            print(json.dumps(ab) if args.json else _against_table(ab, path, args.against))
            return
        result = run_pairs(path, args.pairs, outputs) | {"capture": shape}
    finally:
        outputs.close()
    if args.json:
        print(json.dumps(result))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"capture: {path.name}: {shape}")
    print("\n| measure | value |\n|---|---:|")
    print(f"| lines | {result['lines']:,} |")
    rows = [("end to end", "e2e"), ("end to end, --one-process", "one")]
    for name, key in rows:
        print(f"| {name}, msgs/s, whole process (in-run) | {result[f'{key}_msgs_per_s']:,.0f} "
              f"({result[f'{key}_in_run_msgs_per_s']:,.0f}) |")  # fmt: skip
    print(f"| ingest only, msgs/s, whole process (in-run) | {result['ingest_msgs_per_s']:,.0f} "
          f"({result['ingest_in_run_msgs_per_s']:,.0f}) |")  # fmt: skip
    for name, key in rows:
        for what, suffix in (("wall", "ratio"), ("CPU time", "cpu_ratio")):
            low, high = result[f"{key}_{suffix}_min"], result[f"{key}_{suffix}_max"]
            mid = result[f"{key}_{suffix}_median"]
            print(f"| {name} / ingest only, {what}, median of {args.pairs} (spread) | "
                  f"**{mid:.2f}** ({low:.2f}-{high:.2f}) |")  # fmt: skip
    print(f"| msgs per CPU second: end to end / --one-process / ingest only | "
          f"{result['e2e_cpu_msgs_per_s']:,.0f} / {result['one_cpu_msgs_per_s']:,.0f} / "
          f"{result['ingest_cpu_msgs_per_s']:,.0f} |")  # fmt: skip
    print(f"| events / deliveries / outbox files | {result['events']:,} / "
          f"{result['deliveries']:,} / {result['outbox_files']:,} |")  # fmt: skip
    print(f"| same events and deliveries both ways | {result['same_results']} |")
    print(f"| peak RSS MB: end to end (its consumers' process) / --one-process / ingest only | "
          f"{result['e2e_peak_rss_mb']:.0f} ({result['e2e_consumers_peak_rss_mb']:.0f}) / "
          f"{result['one_peak_rss_mb']:.0f} / {result['ingest_peak_rss_mb']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
