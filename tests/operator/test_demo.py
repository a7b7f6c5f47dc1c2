"""``./demo.sh`` shows the product: with the sample fleet imported, the sample day's site
outage is ONE site ticket naming the site and its chargers, and ``alerts explain``
accounts for every condition of the day (a ticket, or the reason for none).

Checked against the simulator's ground truth for the day, not against earlier output."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.operator.conftest import DEMO_CONFIG, ROOT, Day, bodies
from tests.support.cli import environment

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WINDOW = timedelta(minutes=5)  # alerting.site_outage_window (default)


def site_outages(day: Day) -> dict[str, set[str]]:
    """Sites where 3 or more chargers went offline within the window of each other, from
    the simulator's own record of what it made happen."""
    site_of = {c.charger_id: s.site_id for s in day.fleet.sites for c in s.chargers}
    found: dict[str, set[str]] = {}
    periods = [
        (site_of[o["charger_id"]], o.get("since") or o["silent_from"], o) for o in day.truth.offline
    ]
    for site, start, _ in periods:
        near = {o["charger_id"] for s, t, o in periods if s == site and abs(t - start) <= WINDOW}
        if len(near) >= 3:
            found.setdefault(site, set()).update(near)
    return found


def run_demo(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "demo.sh"), "--out", str(out)],
        check=False,
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_demo_prints_one_site_ticket_with_names(day: Day, tmp_path: Path) -> None:
    outages = site_outages(day)
    assert len(outages) == 1, "the sample day has one site outage"
    ((site_id, members),) = outages.items()
    site = day.site_name(site_id)
    names = day.names()
    out = tmp_path / "out"
    result = run_demo(out)
    assert result.returncode == 0, result.stderr
    assert "registry import samples/fleet.json: 3 sites" in result.stdout
    # the tickets target got one site alert for the outage, with names, and no ticket of
    # its own for a charger the site alert stands for while the site was down
    tickets = bodies(out / "tickets")
    opens = [b for b in tickets if b["type"] == "site.offline"]
    assert len(opens) == 1
    data = opens[0]["data"]
    assert (data["site_id"], data["site_name"]) == (site_id, site)
    assert set(data["chargers"]) >= members
    assert all(data["charger_names"][c] == names[c] for c in data["chargers"])
    assert [b["type"] for b in tickets].count("site.online") == 1
    began = opens[0]["data"]["offline_since"]
    during = [
        b for b in tickets
        if b["type"] == "charger.offline" and b["data"]["charger_id"] in members
        and b["data"]["offline_since"][:16] == began[:16]
    ]  # fmt: skip
    assert during == []
    # ... and the demo printed it, by name
    line = next(x for x in result.stdout.splitlines() if f"{site} outage" in x)
    assert " ticket " in line
    for charger in members:
        assert names[charger] in line
    assert not UUID.search(result.stdout), "people read names, not UUIDs"

    # every condition is accounted for: each charger.offline and charger.fault.raised the
    # replay wrote began exactly one condition, and none is left without an outcome
    explained = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "chargeops"), "alerts", "explain", "--json",
         "--out", str(out), "--config", str(DEMO_CONFIG)],
        env=environment({"CHARGEOPS_DEMO_OUT": str(out)}),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(explained.stdout)
    conditions: list[dict[str, Any]] = report["conditions"]
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    starts = [e["id"] for e in events if e["type"] in ("charger.offline", "charger.fault.raised")]
    began_with = [c["began_with"] for c in conditions if c["kind"] != "site"]
    assert sorted(began_with) == sorted(starts)
    assert len(starts) == len(day.truth.offline) + len(day.truth.faults)
    assert "waiting" not in {c["outcome"] for c in conditions}
    tickets_opened = [
        b
        for b in tickets
        if b["type"] in ("charger.offline", "charger.fault.raised", "site.offline")
    ]
    assert report["totals"]["ticket"] == len(tickets_opened)
    grouped = {c["charger_id"] for c in conditions if c["outcome"] == "grouped"}
    assert grouped == members
    short = [
        o for o in day.truth.offline
        if o["until"] - (o.get("since") or o["silent_from"]) < timedelta(minutes=10)
    ]  # fmt: skip
    assert report["totals"]["grace"] == len(short)

    again = run_demo(out)  # a second run adds nothing and tells the same story
    assert again.returncode == 0, again.stderr
    assert re.search(r"^deliveries\s+0$", again.stdout, re.MULTILINE), again.stdout
    assert len(bodies(out / "tickets")) == len(tickets)
