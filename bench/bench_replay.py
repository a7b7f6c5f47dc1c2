"""Replay and decode benchmarks for the event core (issue: foundation).

Measures, on a generated capture (a seeded simulation of a fleet's bus traffic):
- end-to-end ``chargeops replay`` throughput (msgs/s) and peak RSS, at two input sizes
  to show memory stays flat in input size;
- decode alone (NBFX bodies -> observation dicts) against the open-source pyzaptec
  decoder (``mc_nbfx_decoder`` + ``json.loads``) on the same bytes.

Usage: .venv/bin/python bench/bench_replay.py [--lines 500000] [--repeat 3]
Prints a Markdown table; numbers go to docs/benchmarks.md. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
CHARGEOPS = Path(sys.executable).parent / "chargeops"


def capture(lines: int) -> Path:
    """A seeded capture of at least ``lines`` lines (generated once, cached)."""
    from simulators.traffic import generate  # noqa: PLC0415

    chargers = max(12, lines // 1100)
    path = CACHE / f"capture-{chargers}.jsonl"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _, _, out = generate(seed=3, sites=max(3, chargers // 10), chargers=chargers)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as f:
            f.writelines(line + "\n" for line in out)
        tmp.replace(path)
    return path


def replay_run(path: Path) -> dict[str, float]:
    """One replay in a fresh process; peak RSS is that process's own (wait4 rusage)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(CHARGEOPS), "replay", str(path), "--out", out, "--json", "--quiet"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        assert os.waitstatus_to_exitcode(status) == 0, "replay failed"
        summary = json.loads(stdout)
    return {
        "lines": summary["read"],
        "wall_s": wall,
        "msgs_per_s": summary["read"] / wall,
        "core_msgs_per_s": summary["messages_per_second"],
        "events": sum(summary["events"].values()),
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def bodies(path: Path, limit: int = 200_000) -> list[bytes]:
    out = []
    with path.open() as f:
        for line in f:
            if '"body_base64"' in line:
                try:
                    out.append(base64.b64decode(json.loads(line)["body_base64"]))
                except ValueError:
                    continue
                if len(out) >= limit:
                    break
    return out


def pyzaptec_decoder() -> ModuleType | None:
    """pyzaptec's NBFX decoder, loaded from its wheel (it needs Python 3.14 to install,
    but its utils module is plain Python). None when the wheel cannot be fetched."""
    wheel_dir = CACHE / "pyzaptec"
    wheels = list(wheel_dir.glob("pyzaptec-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--python-version", "3.14", "--only-binary=:all:", "pyzaptec==0.8.7",
             "-d", str(wheel_dir)],
            check=False, capture_output=True,
        )  # fmt: skip
        wheels = list(wheel_dir.glob("pyzaptec-*.whl"))
    if not wheels:
        return None
    target = wheel_dir / "utils.py"
    if not target.exists():
        with zipfile.ZipFile(wheels[0]) as z:
            target.write_bytes(z.read("pyzaptec/utils.py"))
    spec = importlib.util.spec_from_file_location("pyzaptec_utils", target)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decode_rates(path: Path, repeat: int) -> dict[str, float]:
    from shared.decode import Rejection, decode_body  # noqa: PLC0415

    data = [b for b in bodies(path) if not isinstance(decode_body(b), Rejection)]  # both can read
    best_ours = min(_timed(lambda: [decode_body(b) for b in data]) for _ in range(repeat))
    rates = {"bodies": len(data), "ours_per_s": len(data) / best_ours}
    theirs = pyzaptec_decoder()
    if theirs is not None:
        decoder = theirs.mc_nbfx_decoder

        def run_theirs() -> None:
            for b in data:
                json.loads(decoder(b)[0]["text"])

        best_theirs = min(_timed(run_theirs) for _ in range(repeat))
        rates["pyzaptec_per_s"] = len(data) / best_theirs
        rates["speedup"] = best_theirs / best_ours
        # The NBFX layer alone: their decoder's output is the JSON text, so is ours.
        from shared.nbfx import string_content  # noqa: PLC0415

        nbfx_ours = min(_timed(lambda: [string_content(b) for b in data]) for _ in range(repeat))
        nbfx_theirs = min(_timed(lambda: [decoder(b) for b in data]) for _ in range(repeat))
        rates["nbfx_ours_per_s"] = len(data) / nbfx_ours
        rates["nbfx_pyzaptec_per_s"] = len(data) / nbfx_theirs
        rates["nbfx_speedup"] = nbfx_theirs / nbfx_ours
    return rates


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    big = capture(args.lines)
    small = capture(max(10_000, args.lines // 5))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print("\n| capture | lines | wall s | msgs/s (wall) | msgs/s (in-run) | events | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, path in (("small", small), ("large", big)):
        best = max((replay_run(path) for _ in range(args.repeat)), key=lambda r: r["msgs_per_s"])
        print(
            f"| {label} | {best['lines']:,.0f} | {best['wall_s']:.1f} | {best['msgs_per_s']:,.0f} "
            f"| {best['core_msgs_per_s']:,.0f} | {best['events']:,.0f} "
            f"| {best['peak_rss_mb']:.0f} |"
        )
    rates = decode_rates(big, args.repeat)
    print(
        f"\ndecode alone: {rates['bodies']:,.0f} NBFX bodies, ours {rates['ours_per_s']:,.0f}/s",
        end="",
    )
    if "pyzaptec_per_s" in rates:
        print(
            f", pyzaptec 0.8.7 {rates['pyzaptec_per_s']:,.0f}/s, speed-up {rates['speedup']:.1f}x"
        )
        print(
            f"NBFX layer only: ours {rates['nbfx_ours_per_s']:,.0f}/s, pyzaptec mc_nbfx_decoder "
            f"{rates['nbfx_pyzaptec_per_s']:,.0f}/s, speed-up {rates['nbfx_speedup']:.1f}x"
        )
    else:
        print(" (pyzaptec wheel unavailable: comparison not measured)")


if __name__ == "__main__":
    main()
