"""Seeded generator of realistic Zaptec Service Bus traffic, with its ground truth.

Made for the main job's sample day, for tests and for benchmarks. It writes what Zaptec
puts on the bus (NBFX-wrapped and plain JSON bodies) with the awkward cases real
integrations meet: telemetry noise, short and long offline periods, a silent charger,
warning bits on and off (including a quick toggle), sessions with and without a
CompletedSession (723), valueless 721/722 at session end, a cable moved to another car,
null SignedSession, duplicates (redelivery), late arrivals, the all-zero ChargerId and
a few broken lines. ``Truth`` records what happened, so tests can compare.

This is a simulation of traffic, labelled as such; real captures replay the same way.
"""

from __future__ import annotations

import base64
import heapq
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from heapq import merge
from typing import Any

from simulators.fleet import Fleet, make_fleet
from simulators.plan import TELEMETRY_IDS, ChargerDay, Frame

__all__ = ["Capture", "Fleet", "Truth", "generate", "nbfx_body"]

_HEADER = b"@\x06string\x083http://schemas.microsoft.com/2003/10/Serialization/"


def nbfx_body(text: bytes) -> bytes:
    """The DataContract string wrapper, with the text record .NET picks for the length."""
    n = len(text)
    if n < 256:
        record = b"\x98" + bytes([n])
    elif n < 65536:
        record = b"\x9a" + n.to_bytes(2, "little")
    else:
        record = b"\x9c" + n.to_bytes(4, "little")
    return _HEADER + record + text + b"\x01"


@dataclass
class Truth:
    """What really happened in the generated day (times UTC). Complete as soon as
    ``generate`` returns: the plan is made before any line is written."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    offline: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    broken_lines: int = 0
    zero_charger_lines: int = 0
    capture_end: datetime | None = None  # every charger's telemetry runs until here


class Capture(Iterator[str]):
    """The capture's lines, lazily, in arrival order. ``clock`` is the arrival time of
    the newest line handed out, so a writer can say how far through the day it is."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end, self.clock = start, end, start
        self._lines: Iterator[str] = iter(())

    def __next__(self) -> str:
        return next(self._lines)

    @property
    def share(self) -> float:
        """How much of the capture's time span is written (0..1)."""
        span = (self.end - self.start).total_seconds()
        return min(1.0, max(0.0, (self.clock - self.start).total_seconds() / span)) if span else 1.0


def generate(
    *,
    seed: int = 7,
    sites: int = 3,
    chargers: int = 12,
    start: datetime = datetime(2026, 4, 26, tzinfo=UTC),
    hours: float = 24,
    telemetry_every: timedelta = timedelta(minutes=4),
) -> tuple[Fleet, Truth, Capture]:
    """(fleet, ground truth, capture lines). Same seed, same output, byte for byte.

    The lines are a lazy iterator in arrival order: nothing is held but the plan and a
    few minutes of late or redelivered frames, so memory stays flat for any fleet."""
    rng = random.Random(seed)
    fleet = make_fleet(rng, sites, chargers)
    end = start + timedelta(hours=hours)
    truth = Truth()
    outage = (fleet.sites[-1].site_id, start + timedelta(hours=hours * 0.45)) if sites > 1 else None
    days = []
    for index, charger in enumerate(fleet.chargers):
        day = ChargerDay(rng.random(), charger, index, start)
        _plan(day, end, truth, outage)
        days.append(day)
    # One capture end for all: sessions may run past the nominal end of the day, and
    # everyone's telemetry continues until the last of them is done.
    capture_end = max([end, *(d.last for d in days)])
    truth.capture_end = capture_end
    frames = merge(*(d.frames(capture_end, telemetry_every) for d in days))
    capture = Capture(start, capture_end)
    capture._lines = _lines(random.Random(rng.random()), frames, truth, fleet, capture, end)
    return fleet, truth, capture


def _plan(
    day: ChargerDay, end: datetime, truth: Truth, site_outage: tuple[str, datetime] | None
) -> None:
    """Decide one charger's day. An incident that would not be over before ``end`` is
    left out (a short day has fewer), so every planned offline period also ends."""
    rng, c, start, index = day.rng, day.c, day.start, day.index
    day.event(start + timedelta(seconds=rng.randint(1, 60)), -2, "1")
    day.event(start + timedelta(seconds=rng.randint(61, 120)), 804, "0")
    day.event(start + timedelta(seconds=rng.randint(121, 180)), 710, "1")
    # Offline periods: one short (below a 10 min grace) for some, one long for others.
    if index % 3 == 0:
        at = start + timedelta(hours=rng.uniform(2, 5))
        _offline(day, at, timedelta(minutes=rng.uniform(1, 4)), end, truth)
    if index % 4 == 1:
        at = start + timedelta(hours=rng.uniform(13, 16))
        _offline(day, at, timedelta(minutes=rng.uniform(30, 90)), end, truth)
    if site_outage and c.site_id == site_outage[0]:  # the whole site loses its uplink
        a = site_outage[1] + timedelta(seconds=rng.uniform(0, 50))
        length = timedelta(minutes=40) + timedelta(seconds=rng.uniform(0, 40))
        _offline(day, a, length, end, truth)
    if index == 5:  # a charger that falls silent without an IsOnline frame
        a = start + timedelta(hours=19, minutes=rng.uniform(0, 30))
        b = a + timedelta(minutes=95)
        if b < end and day.free(a, b):
            day.busy.append((a, b))
            truth.offline.append(
                {"charger_id": c.charger_id, "silent_from": a, "until": b, "cause": "silence"}
            )
    # Warnings: a long fault, and a quick toggle (flap) on another charger; never while
    # the charger is offline (a warning frame from an offline charger would be a contradiction).
    bit = 49 if c.device_type == 4 else 7  # RELAY_WELDED on Go and on Pro
    if index % 5 == 2:
        a = start + timedelta(hours=rng.uniform(6, 9))
        _fault(day, a, a + timedelta(minutes=rng.uniform(20, 60)), [bit], end, truth)
    if index % 5 == 3:
        a = start + timedelta(hours=rng.uniform(10, 11))
        if day.free(a, a + timedelta(minutes=6)):
            for k in range(3):  # TEMPERATURE toggling: on 1 min, off 1 min
                t0 = a + timedelta(minutes=2 * k)
                _fault(day, t0, t0 + timedelta(minutes=1), [1], end, truth)
    # Sessions: they may run on past the end of the day (the capture waits for them).
    t = start + timedelta(hours=rng.uniform(0.5, 2))
    number = 0
    while t < end - timedelta(hours=2):
        length = timedelta(minutes=rng.uniform(25, 240))
        if day.free(t, t + length, margin=timedelta(minutes=30)):
            number += 1
            session = day.add_session(t, length, number, moved=index == 7 and number == 2)
            _record_session(day, session, truth)
        t += length + timedelta(hours=rng.uniform(1, 6))


def _offline(day: ChargerDay, at: datetime, length: timedelta, end: datetime, truth: Truth) -> None:
    back = at + length
    if back >= end or not day.free(at, back):
        return
    day.busy.append((at, back))
    day.event(at, -2, "0")
    day.event(back, -2, "1")
    truth.offline.append(
        {"charger_id": day.c.charger_id, "since": at, "until": back, "cause": "is_online"}
    )


def _fault(
    day: ChargerDay, at: datetime, until: datetime, bits: list[int], end: datetime, truth: Truth
) -> None:
    if until >= end or not day.free(at, until):
        return
    day.event(at, 804, str(sum(1 << b for b in bits)))
    day.event(until, 804, "0")
    for b in bits:
        truth.faults.append(
            {"charger_id": day.c.charger_id, "bit": b, "raised": at, "cleared": until}
        )


def _record_session(day: ChargerDay, s: Any, truth: Truth) -> None:
    last = len(s.segments) - 1
    for k, (seg_start, seg_id) in enumerate(s.segments):
        entry = {
            "charger_id": day.c.charger_id,
            "session_id": seg_id,
            "start": seg_start,
            "end": s.segments[k + 1][0] if k < last else s.end,
            "energy_kwh": s.energies[k],
            "with_723": s.completed is not None and k == last,
            "moved": len(s.segments) > 1,
        }
        if k == last and s.completed is not None:
            completed = json.loads(s.completed)
            entry["auth_token"] = completed["AuthenticationCode"] or None
            entry["signed"] = completed["SignedSession"] is not None
        truth.sessions.append(entry)


_LATE_OK = frozenset({553, 722, *TELEMETRY_IDS})  # lateness that cannot change the outcome


def _stamp(rng: random.Random, t: datetime) -> str:
    """Zaptec's timestamp variety: 1-7 fractional digits, with or without Z."""
    digits = rng.choice((1, 2, 3, 3, 3, 6, 7))
    frac = f"{t.microsecond:06d}0"[:digits]
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + frac + ("Z" if rng.random() < 0.3 else "")


def _lines(
    rng: random.Random,
    frames: Iterator[Frame],
    truth: Truth,
    fleet: Fleet,
    capture: Capture,
    end: datetime,
) -> Iterator[str]:
    """Capture lines in arrival order, with late arrivals and redeliveries.

    Frames come in enqueue order; a late or redelivered copy arrives later, so it waits
    in a small heap. A queued line leaves once it sorts before the next incoming frame
    (no later frame can sort before it): the result equals sorting everything, while
    holding only the few minutes of delayed frames."""
    specials = _specials(rng, fleet, truth, capture.start, end)
    span = (end - capture.start).total_seconds()
    special_at = sorted(
        (capture.start + timedelta(seconds=rng.uniform(0, span)), n) for n in range(len(specials))
    )
    waiting: list[tuple[datetime, tuple[int, int, int], int, dict[str, Any]]] = []
    copies = 0  # a redelivered copy's tie-breaker, after its original

    def line(at: datetime, obs: dict[str, Any]) -> Iterator[str]:
        capture.clock = at
        while special_at and special_at[0][0] <= at:
            yield specials[special_at.pop(0)[1]]
        yield _envelope(rng, obs, at)

    for f in frames:
        while waiting and (waiting[0][0], waiting[0][1]) < (f.at, f.key):
            at, _, _, obs = heapq.heappop(waiting)
            yield from line(at, obs)
        f.obs["Timestamp"] = _stamp(rng, f.obs["Timestamp"])
        at = f.at
        if f.obs["StateId"] in _LATE_OK and rng.random() < 0.01:
            at += timedelta(minutes=rng.uniform(1, 5))  # late arrival
        heapq.heappush(waiting, (at, f.key, 0, f.obs))
        if rng.random() < 0.02:  # redelivered: the same frame again a little later
            copies += 1
            again = at + timedelta(seconds=rng.uniform(1, 30))
            heapq.heappush(waiting, (again, f.key, copies, f.obs))
    while waiting:
        at, _, _, obs = heapq.heappop(waiting)
        yield from line(at, obs)
    for _, n in special_at:
        yield specials[n]


def _envelope(rng: random.Random, obs: dict[str, Any], at: datetime) -> str:
    """Most messages as Zaptec sends them (NBFX body, enqueue time); some as plain JSON."""
    text = json.dumps(obs, separators=(",", ":"))
    if rng.random() < 0.6:
        body = nbfx_body(text.encode())
        return json.dumps(
            {
                "body_base64": base64.b64encode(body).decode(),
                "message_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "enqueued_time_utc": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        )
    return text


def _specials(
    rng: random.Random, fleet: Fleet, truth: Truth, a: datetime, b: datetime
) -> list[str]:
    zero = "00000000-0000-0000-0000-000000000000"
    t = a + (b - a) / 3
    zeros = [
        json.dumps(
            {
                "DeviceId": "ZAP000000",
                "DeviceType": 4,
                "ChargerId": zero,
                "StateId": sid,
                "Timestamp": _stamp(rng, t),
                "ValueAsString": "1",
            }
        )
        for sid in (710, 513, -2)
    ]
    good = json.dumps(
        {
            "ChargerId": fleet.chargers[0].charger_id,
            "StateId": 710,
            "Timestamp": "2026-04-26T12:00:00",
            "ValueAsString": "1",
        }
    ).encode()
    broken = [
        "{not json",
        json.dumps({"body_base64": "@@not-base64@@", "message_id": "broken-1"}),
        json.dumps({"body_base64": base64.b64encode(nbfx_body(good)[:-20]).decode()}),
        json.dumps(
            {
                "ChargerId": fleet.chargers[1 % len(fleet.chargers)].charger_id,
                "Timestamp": "2026-04-26T12:00:00",
            }
        ),
        json.dumps(
            {
                "ChargerId": fleet.chargers[2 % len(fleet.chargers)].charger_id,
                "StateId": 804,
                "Timestamp": "yesterday",
                "ValueAsString": "0",
            }
        ),
    ]
    truth.zero_charger_lines = len(zeros)
    truth.broken_lines = len(broken)
    return zeros + broken
