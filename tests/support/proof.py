"""The operator proof, shared by ``tests/proof`` (CI size) and ``bench/bench_proof.py``
(a month of a 500-charger fleet): a generated capture replayed through the real CLI
against local receivers that fail on purpose, killed with SIGKILL at random points and
restarted, then checked against the generator's ground truth.

Checks (``verify``): every event exactly once in ``events.jsonl`` and as the truth says;
every session event and every finance record accepted exactly once at its receiver; every
ticket opened once and closed once; each idempotency key delivered once; the uptime
report's figures equal to those computed from the truth (``tests.support.truth``).
"""

from __future__ import annotations

import json
import pickle
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from simulators.fleet import Fleet
from simulators.traffic import Truth
from simulators.zaptec_api import ZaptecSimulator
from tests.support import truth as gt
from tests.support.cli import CHARGEOPS, console, environment
from tests.support.receivers import Receiver, serve

START = datetime(2026, 4, 26, tzinfo=UTC)
GRACE, FLAP = timedelta(minutes=10), timedelta(minutes=5)
TICKET_TEMPLATE = (
    '{"action": {{ action | json }}, "episode": {{ alert.episode | json }}, '
    '"condition": {{ alert.key | json }}, "kind": {{ alert.kind | json }}, '
    '"charger_id": {{ alert.charger_id | json }}, "event_id": {{ event.id | json }}}'
)


@dataclass(frozen=True)
class Scale:
    seed: int = 5
    sites: int = 6
    chargers: int = 40
    hours: float = 48
    failure_rate: float = 0.1  # share of requests each receiver fails
    kills: int = 4  # SIGKILLs to land before letting a run finish
    kill_after: tuple[float, float] = (1.5, 4.0)  # seconds into a run, drawn per kill


@dataclass
class Capture:
    path: Path
    lines: int
    fleet: Fleet
    truth: Truth
    since: datetime
    until: datetime


@dataclass
class Runs:
    kills: int = 0
    runs: int = 0
    seconds: float = 0.0
    summaries: list[dict[str, Any]] = field(default_factory=list)


_GENERATE = """
import pickle, sys
from datetime import datetime
from simulators.traffic import generate
seed, sites, chargers, hours, start, path, meta = sys.argv[1:]
fleet, truth, lines = generate(seed=int(seed), sites=int(sites), chargers=int(chargers),
                               start=datetime.fromisoformat(start), hours=float(hours))
count = 0
with open(path, "w", encoding="utf-8") as f:
    for line in lines:
        f.write(line + "\\n")
        count += 1
with open(meta, "wb") as f:
    pickle.dump((fleet, truth, count), f)
"""


def make_capture(folder: Path, scale: Scale) -> Capture:
    """Generate and write the capture in a child process (the generator holds every frame
    in memory until it is done); only the fleet and the truth come back."""
    path, meta = folder / "capture.jsonl", folder / "truth.pickle"
    args = [str(scale.seed), str(scale.sites), str(scale.chargers), str(scale.hours),
            START.isoformat(), str(path), str(meta)]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _GENERATE, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    fleet, truth, count = pickle.loads(meta.read_bytes())
    return Capture(path, count, fleet, truth, START, START + timedelta(hours=scale.hours))


def config_text(urls: dict[str, str], zaptec: str) -> str:
    fast = "{attempts: 4, backoff: 10ms, max_backoff: 50ms, max_retry_after: 2s}"
    return f"""
version: 1
targets:
  events: {{kind: webhook, url: "{urls["events"]}/events", retry: {fast}, timeout: 5s}}
  tickets:
    kind: webhook
    mode: alerts
    url: {urls["tickets"]}/tickets
    template: '{TICKET_TEMPLATE}'
    retry: {fast}
    timeout: 5s
  sessions: {{kind: webhook, url: "{urls["sessions"]}/sessions", retry: {fast}, timeout: 5s}}
  billing: {{kind: webhook, url: "{urls["billing"]}/billing", retry: {fast}, timeout: 5s}}
routes:
  - match: {{types: ["charger.*"]}}
    targets: [events, tickets]
  - match: {{types: [session.completed]}}
    targets: [sessions]
  - match: {{types: [finance.record.created]}}
    targets: [billing]
alerting:
  offline_grace: 10m
  fault_hold: 0s
  flap_window: 5m
  site_outage_threshold: 0
uptime:
  outage_faults: [RELAY_WELDED]
zaptec:
  api_base: {zaptec}
  username: proof
  password: proof
"""


@contextmanager
def receivers(scale: Scale) -> Iterator[tuple[dict[str, Receiver], dict[str, str]]]:
    names = ("events", "tickets", "sessions", "billing")
    found = {
        n: Receiver(scale.failure_rate, seed=scale.seed + i, strict=True, log=False)
        for i, n in enumerate(names)
    }
    with ExitStack() as stack:
        urls = {n: stack.enter_context(serve(r)) for n, r in found.items()}
        yield found, urls


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return console(*args, cwd=cwd)


def prepare(folder: Path, fleet: Fleet, urls: dict[str, str]) -> tuple[Path, Path]:
    """Write the config and fill the registry from a Zaptec API simulator serving the fleet
    (so every event carries its site); returns (config, state)."""
    config, state = folder / "chargeops.yaml", folder / "out" / "state.sqlite3"
    state.parent.mkdir(parents=True, exist_ok=True)
    with ZaptecSimulator(fleet.as_json()).serve(port=0) as zaptec:
        config.write_text(config_text(urls, zaptec), "utf-8")
        done = cli(["registry", "refresh", "--force", "--config", str(config), "--state",
                    str(state), "--out", str(folder / "registry")], folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return config, state


def replay_args(capture: Capture, out: Path, config: Path) -> list[str]:
    return [str(CHARGEOPS), "replay", str(capture.path), "--out", str(out), "--config",
            str(config), "--json"]  # fmt: skip


def replay_with_kills(capture: Capture, out: Path, config: Path, scale: Scale) -> Runs:
    """Kill ``scale.kills`` runs at random moments, then let one finish."""
    env = environment()
    rng, runs, started = random.Random(scale.seed * 7919), Runs(), time.monotonic()
    while True:
        proc = subprocess.Popen(
            replay_args(capture, out, config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env,
        )  # fmt: skip
        runs.runs += 1
        if runs.kills < scale.kills:
            try:
                proc.wait(timeout=rng.uniform(*scale.kill_after))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                runs.kills += 1
                continue
        stdout, stderr = proc.communicate()
        assert proc.returncode == 0, stderr.decode()[-2000:]
        runs.summaries.append(json.loads(stdout))
        break
    runs.seconds = time.monotonic() - started
    return runs


def finish_deliveries(capture: Capture, out: Path, config: Path, found: dict[str, Receiver],
                      runs: Runs) -> None:  # fmt: skip
    """Receivers healthy again: re-run (no new events) until nothing is pending."""
    for receiver in found.values():
        receiver.failure_rate = 0.0
    for _ in range(5):
        if runs.summaries[-1].get("pending_deliveries", 0) == 0:
            return
        done = cli(replay_args(capture, out, config)[1:], out.parent)
        assert done.returncode == 0, done.stderr
        runs.summaries.append(json.loads(done.stdout))
        runs.runs += 1
    raise AssertionError(f"deliveries still pending: {runs.summaries[-1]}")


def jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def verify(capture: Capture, out: Path, config: Path, found: dict[str, Receiver]) -> dict[str, Any]:
    """Every check of the proof; returns the figures it checked (for the bench)."""
    truth, fleet = capture.truth, capture.fleet
    events = [e for e in jsonl(out / "events.jsonl") if not e["type"].startswith("registry.")]
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event appears twice in events.jsonl"
    by_type = Counter(e["type"] for e in events)
    outages = gt.outages(capture.path, fleet, truth)
    assert by_type["charger.online"] == len(truth.offline)
    assert by_type["charger.offline"] == len(truth.offline) + len(outages.still_offline)
    assert by_type["charger.fault.raised"] == by_type["charger.fault.cleared"] == len(truth.faults)
    sessions = {e["data"]["session_id"] for e in events if e["type"] == "session.completed"}
    assert by_type["session.completed"] == len(sessions)
    assert sessions == {s["session_id"] for s in truth.sessions}
    sites = {c.charger_id: c.site_id for c in fleet.chargers}
    own = [e for e in events if e["type"].startswith(("charger.", "session."))]
    assert all(e["data"]["site_id"] == sites[e["data"]["charger_id"]] for e in own)

    deliveries = jsonl(out / "deliveries.jsonl")
    delivered = Counter(d["idempotency_key"] for d in deliveries if d["status"] == "delivered")
    assert max(delivered.values()) == 1, "a delivery was recorded as delivered twice"
    assert not [d for d in deliveries if d["status"] == "failed" and d["idempotency_key"]
                not in delivered], "a delivery ended failed"  # fmt: skip

    streamed = found["sessions"].bodies()
    assert sorted(b["id"] for b in streamed) == sorted(
        e["id"] for e in events if e["type"] == "session.completed"
    ), "the session stream is not every session event exactly once"
    billed = found["billing"].bodies()
    billed_sessions = Counter(b["data"]["session_id"] for b in billed)
    assert set(billed_sessions) == sessions, "a session has no finance record at the receiver"
    assert max(billed_sessions.values()) == 1, "a session was billed twice"
    assert len({b["id"] for b in billed}) == len(billed)

    tickets = found["tickets"].bodies()
    actions: dict[str, Counter[str]] = defaultdict(Counter)
    kinds: dict[str, tuple[str, str]] = {}
    for body in tickets:
        actions[body["episode"]][body["action"]] += 1
        kinds[body["episode"]] = (body["kind"], body["charger_id"])
    for episode, done in actions.items():
        if done == Counter(open=1):  # still offline at the end: opened, not (yet) closed
            kinds[episode] = ("offline-open", kinds[episode][1])
        else:
            assert done == Counter(open=1, close=1), f"ticket {episode}: {dict(done)}"
    assert Counter(kinds.values()) == gt.tickets(outages, GRACE, FLAP)
    stream = Counter(b["id"] for b in found["events"].bodies())
    assert sorted(stream) == sorted(e["id"] for e in events if e["type"].startswith("charger."))

    report = cli(["report", "uptime", "--from", _iso(capture.since), "--to", _iso(capture.until),
                  "--format", "json", "--config", str(config), "--state",
                  str(out / "state.sqlite3")], out.parent)  # fmt: skip
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    expected = gt.uptime(outages, fleet, capture.since, capture.until)
    fields = ("uptime_percent", "outage_minutes", "outage_count", "longest_outage_minutes")
    got = {c["charger_id"]: tuple(c[f] for f in fields) for c in doc["chargers"]}
    assert got == expected["chargers"], _diff(got, expected["chargers"])
    got_sites = {s["site_id"]: tuple(s[f] for f in fields) for s in doc["sites"]}
    assert got_sites == expected["sites"], _diff(got_sites, expected["sites"])
    return {
        "events": dict(by_type),
        "deliveries": len(delivered),
        "tickets": len(actions),
        "tickets_open_at_end": sum(1 for c in actions.values() if c == Counter(open=1)),
        "finance_records": len(billed),
        "duplicates_at_receivers": {n: sum(r.duplicates.values()) for n, r in found.items()},
        "injected_failures": {
            n: sum(v for k, v in r.statuses.items() if k >= 400) for n, r in found.items()
        },
        "fleet_uptime_percent": doc["fleet"]["uptime_percent"],
    }


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _diff(got: dict[str, Any], want: dict[str, Any]) -> str:
    keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    return "; ".join(f"{k}: got {got.get(k)} want {want.get(k)}" for k in keys[:5])
