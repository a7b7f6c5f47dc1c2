"""Ground truth for proof runs, computed from the generator's ``Truth`` and the capture it
wrote, never from our own pipeline: the outages each charger really had, the tickets the
alerting rules (docs/tickets.md) must open, and the uptime figures the NEVI method
(docs/uptime.md) gives for them.

Times come from the capture's own frames, because the capture writes each timestamp with
1-7 fractional digits: an offline period starts at its IsOnline=0 frame *as written*. A
silent charger's period runs from its last sign of life to the first frame after the gap,
by the documented rules (design.md): telemetry counts to the second, actionable frames
exactly, an IsOnline=0 frame is no sign of life.
"""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from simulators.fleet import Fleet
from simulators.traffic import Truth

ACTIONABLE = frozenset({-2, 553, 710, 721, 722, 723, 804})
RELAY_WELDED_BITS = {4: 49, 1: 7}  # by DeviceType: the generator's long fault
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Frame:
    line: int  # position in the capture (arrival order)
    state_id: int
    at: datetime  # as written, parsed
    value: str | None


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _observation(line: str) -> tuple[dict[str, Any], datetime | None] | None:
    """The observation on a capture line and its enqueue time (None: not one)."""
    enqueued = None
    try:
        outer = json.loads(line)
        if "body_base64" in outer:
            if outer.get("enqueued_time_utc"):
                enqueued = _utc(outer["enqueued_time_utc"])
            body = base64.b64decode(outer["body_base64"], validate=True)
            start, end = body.index(b"{"), body.rindex(b"}")
            outer = json.loads(body[start : end + 1])
    except (ValueError, KeyError):
        return None
    return (outer, enqueued) if isinstance(outer, dict) else None


@dataclass
class Scan:
    frames: dict[str, list[Frame]]  # IsOnline/Warnings, and everything of some chargers
    last_alive: dict[str, datetime]  # newest sign of life per charger
    clock: datetime  # newest input time (enqueue time, else the frame's own)


ZERO = "00000000-0000-0000-0000-000000000000"


def read_frames(capture: Path, everything_for: set[str]) -> Scan:
    """IsOnline and Warnings frames of every charger; all frames of ``everything_for``."""
    frames: dict[str, list[Frame]] = defaultdict(list)
    last: dict[str, datetime] = {}
    clock = datetime.min.replace(tzinfo=UTC)
    with capture.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            parsed = _observation(line)
            if parsed is None:
                continue
            obs, enqueued = parsed
            charger = str(obs.get("ChargerId"))
            if charger == ZERO or "StateId" not in obs or "Timestamp" not in obs:
                continue
            try:
                fr = Frame(n, int(obs["StateId"]), _utc(str(obs["Timestamp"])),
                           obs.get("ValueAsString"))  # fmt: skip
            except ValueError:
                continue
            alive = _alive_at(fr)
            clock = max(clock, enqueued or alive or fr.at)
            if alive is not None and (charger not in last or alive > last[charger]):
                last[charger] = alive
            if fr.state_id in (-2, 804) or charger in everything_for:
                frames[charger].append(fr)
    return Scan(frames, last, clock)


def _written(frames: list[Frame], state_id: int, value: str, near: datetime) -> datetime:
    """The frame that realised a truth transition, as written (at most 1 s earlier)."""
    for fr in frames:
        close = timedelta(0) <= near - fr.at < timedelta(seconds=1)
        if fr.state_id == state_id and fr.value == value and close:
            return fr.at
    raise AssertionError(f"no frame {state_id}={value} at {near}")


def _alive_at(fr: Frame) -> datetime | None:
    if fr.state_id == -2 and fr.value != "1":
        return None
    return fr.at if fr.state_id in ACTIONABLE else fr.at.replace(microsecond=0)


def _silence(frames: list[Frame], since: datetime, until: datetime) -> Interval:
    before = [t for fr in frames if fr.at < since and (t := _alive_at(fr)) is not None]
    after = [fr for fr in frames if fr.at >= until and _alive_at(fr) is not None]
    first = min(after, key=lambda fr: fr.line)
    back = _alive_at(first)
    assert back is not None
    return max(before), back


@dataclass(frozen=True)
class Outages:
    offline: dict[str, list[Interval]]
    still_offline: dict[str, datetime]  # silent at the capture's end: offline, never back
    relay: dict[str, list[Interval]]  # RELAY_WELDED: the fault the proof counts
    faults: dict[tuple[str, int], list[Interval]]  # every fault, by (charger, bit)


def outages(
    capture: Path,
    fleet: Fleet,
    truth: Truth,
    silence_after: timedelta = timedelta(hours=1),
    settle: timedelta = timedelta(minutes=2),
) -> Outages:
    """Each charger's outages. A capture ends with time running on by ``settle`` past its
    newest input (design.md), so a charger whose last sign of life is ``silence_after``
    older than that goes offline by silence and stays so: that is in the truth too."""
    silent = {str(p["charger_id"]) for p in truth.offline if p.get("cause") == "silence"}
    scan = read_frames(capture, silent)
    frames = scan.frames
    end = scan.clock + settle
    still = {c: t for c, t in scan.last_alive.items() if t + silence_after <= end}
    types = {c.charger_id: c.device_type for c in fleet.chargers}
    offline: dict[str, list[Interval]] = defaultdict(list)
    for p in truth.offline:
        mine = frames[p["charger_id"]]
        if p.get("cause") == "silence":
            offline[p["charger_id"]].append(_silence(mine, p["silent_from"], p["until"]))
        else:
            a, b = _written(mine, -2, "0", p["since"]), _written(mine, -2, "1", p["until"])
            offline[p["charger_id"]].append((a, b))
    relay: dict[str, list[Interval]] = defaultdict(list)
    faults: dict[tuple[str, int], list[Interval]] = defaultdict(list)
    for fault in truth.faults:
        cid, bit = fault["charger_id"], fault["bit"]
        a = _written(frames[cid], 804, str(1 << bit), fault["raised"])
        b = _written(frames[cid], 804, "0", fault["cleared"])
        faults[(cid, bit)].append((a, b))
        if RELAY_WELDED_BITS.get(types[cid]) == bit:
            relay[cid].append((a, b))
    return Outages(dict(offline), still, dict(relay), dict(faults))


def _union(spans: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(s for s in spans if s[0] < s[1]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def uptime(out: Outages, fleet: Fleet, since: datetime, until: datetime) -> dict[str, Any]:
    """Per charger and per site: (uptime %, outage min, outage count, longest min), with
    the report's rounding; no exclusions in proof runs."""
    minute = timedelta(minutes=1)
    chargers: dict[str, tuple[float, float, int, float]] = {}
    sites: dict[str, tuple[float, float, int, float]] = {}
    for site in fleet.sites:
        down, count, longest = timedelta(0), 0, timedelta(0)
        for c in site.chargers:
            spans = out.offline.get(c.charger_id, []) + out.relay.get(c.charger_id, [])
            if c.charger_id in out.still_offline:
                spans.append((out.still_offline[c.charger_id], until))
            clipped = _union((max(a, since), min(b, until)) for a, b in spans)
            total = sum((b - a for a, b in clipped), timedelta(0))
            long = max((b - a for a, b in clipped), default=timedelta(0))
            window = until - since
            chargers[c.charger_id] = (
                round((window - total) / window * 100, 4),
                round(total / minute, 3),
                len(clipped),
                round(long / minute, 3),
            )
            down, count, longest = down + total, count + len(clipped), max(longest, long)
        window = (until - since) * len(site.chargers)
        sites[site.site_id] = (
            round((window - down) / window * 100, 4),
            round(down / minute, 3),
            count,
            round(longest / minute, 3),
        )
    return {"chargers": chargers, "sites": sites}


def tickets(out: Outages, grace: timedelta, flap: timedelta) -> Counter[tuple[str, str]]:
    """Tickets per (kind, charger) the alerting rules must open and close, with site
    grouping off: an offline period lasting the grace opens one; faults open at once, and
    one that returns within the flap window after clearing reopens the same ticket."""
    expected: Counter[tuple[str, str]] = Counter()
    for charger, periods in out.offline.items():
        expected[("offline", charger)] += sum(1 for a, b in periods if b - a >= grace)
    for charger in out.still_offline:
        expected[("offline-open", charger)] += 1
    for (charger, _), spans in out.faults.items():
        episodes, last_end = 0, None
        for a, b in sorted(spans):
            if last_end is None or a - last_end >= flap:
                episodes += 1
            last_end = b
        expected[("fault", charger)] += episodes
    return +expected
