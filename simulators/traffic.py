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
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simulators.fleet import Charger, Fleet, make_fleet, stable_id

__all__ = ["Fleet", "Truth", "generate", "nbfx_body"]

_HEADER = b"@\x06string\x083http://schemas.microsoft.com/2003/10/Serialization/"
TELEMETRY_IDS = (150, 201, 202, 270, 501, 502, 503, 809, 810, -1)


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
    """What really happened in the generated day (times UTC)."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    offline: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    broken_lines: int = 0
    zero_charger_lines: int = 0


@dataclass(order=True)
class _Frame:
    at: datetime  # when it reaches the bus (enqueued)
    seq: int
    obs: dict[str, Any] = field(compare=False)


class _Day:
    """Builds one charger's frames for the day."""

    def __init__(self, rng: random.Random, c: Charger, start: datetime, end: datetime) -> None:
        self.rng, self.c, self.start, self.end = rng, c, start, end
        self.frames: list[_Frame] = []
        self.seq = 0
        self.busy: list[tuple[datetime, datetime]] = []  # no telemetry inside (offline)

    def emit(self, state_id: int, at: datetime, value: str | None) -> None:
        obs: dict[str, Any] = {
            "DeviceId": self.c.serial,
            "DeviceType": self.c.device_type,
            "ChargerId": self.c.charger_id,
            "StateId": state_id,
            "Timestamp": at,
        }
        if value is not None:
            obs["ValueAsString"] = value
        self.seq += 1
        self.frames.append(
            _Frame(at + timedelta(milliseconds=self.rng.randint(20, 900)), self.seq, obs)
        )

    def offline_at(self, at: datetime) -> bool:
        return any(a <= at < b for a, b in self.busy)


def generate(
    *,
    seed: int = 7,
    sites: int = 3,
    chargers: int = 12,
    start: datetime = datetime(2026, 4, 26, tzinfo=UTC),
    hours: float = 24,
    telemetry_every: timedelta = timedelta(minutes=4),
) -> tuple[Fleet, Truth, Iterator[str]]:
    """(fleet, ground truth, capture lines). Same seed, same output, byte for byte."""
    rng = random.Random(seed)
    fleet = make_fleet(rng, sites, chargers)
    end = start + timedelta(hours=hours)
    truth = Truth()
    frames: list[_Frame] = []
    outage = (fleet.sites[-1].site_id, start + timedelta(hours=hours * 0.45)) if sites > 1 else None
    for index, charger in enumerate(fleet.chargers):
        day = _Day(random.Random(rng.random()), charger, start, end)
        _plan(day, index, truth, outage, telemetry_every)
        frames.extend(day.frames)
    return fleet, truth, _lines(rng, frames, truth, fleet)


def _plan(
    day: _Day,
    index: int,
    truth: Truth,
    site_outage: tuple[str, datetime] | None,
    telemetry_every: timedelta,
) -> None:
    rng, c, start, end = day.rng, day.c, day.start, day.end
    day.emit(-2, start + timedelta(seconds=rng.randint(1, 60)), "1")
    day.emit(804, start + timedelta(seconds=rng.randint(61, 120)), "0")
    day.emit(710, start + timedelta(seconds=rng.randint(121, 180)), "1")
    # Offline periods: one short (below a 10 min grace) for some, one long for others.
    if index % 3 == 0:
        _offline(
            day,
            start + timedelta(hours=rng.uniform(2, 5)),
            timedelta(minutes=rng.uniform(1, 4)),
            truth,
        )
    if index % 4 == 1:
        _offline(
            day,
            start + timedelta(hours=rng.uniform(13, 16)),
            timedelta(minutes=rng.uniform(30, 90)),
            truth,
        )
    if site_outage and c.site_id == site_outage[0]:  # the whole site loses its uplink
        a = site_outage[1] + timedelta(seconds=rng.uniform(0, 50))
        _offline(day, a, timedelta(minutes=40) + timedelta(seconds=rng.uniform(0, 40)), truth)
    if index == 5:  # a charger that falls silent without an IsOnline frame
        a = start + timedelta(hours=19, minutes=rng.uniform(0, 30))
        day.busy.append((a, a + timedelta(minutes=95)))
        truth.offline.append(
            {
                "charger_id": c.charger_id,
                "silent_from": a,
                "until": a + timedelta(minutes=95),
                "cause": "silence",
            }
        )
    # Warnings: a long fault, and a quick toggle (flap) on another charger.
    bit = 49 if c.device_type == 4 else 7  # RELAY_WELDED on Go and on Pro
    if index % 5 == 2:
        a = start + timedelta(hours=rng.uniform(6, 9))
        _fault(day, a, a + timedelta(minutes=rng.uniform(20, 60)), [bit], truth)
    if index % 5 == 3:
        a = start + timedelta(hours=rng.uniform(10, 11))
        for k in range(3):  # TEMPERATURE toggling: on 1 min, off 1 min
            t0 = a + timedelta(minutes=2 * k)
            _fault(day, t0, t0 + timedelta(minutes=1), [1], truth)
    # Sessions.
    t = start + timedelta(hours=rng.uniform(0.5, 2))
    number = 0
    while t < end - timedelta(hours=2):
        length = timedelta(minutes=rng.uniform(25, 240))
        if not any(
            a - timedelta(minutes=30) < x < b + timedelta(minutes=30)
            for a, b in day.busy
            for x in (t, t + length)
        ):
            number += 1
            moved = index == 7 and number == 2
            _session(
                day, t, length, truth, with_723=rng.random() < 0.65, moved=moved, number=number
            )
        t += length + timedelta(hours=rng.uniform(1, 6))
    # Telemetry noise everywhere the charger is online.
    t = start + timedelta(seconds=rng.randint(0, 200))
    while t < end:
        if not day.offline_at(t):
            day.emit(
                rng.choice(TELEMETRY_IDS),
                t,
                None if rng.random() < 0.1 else f"{rng.uniform(0, 240):.1f}",
            )
        t += telemetry_every * rng.uniform(0.3, 1.7)


def _offline(day: _Day, at: datetime, length: timedelta, truth: Truth) -> None:
    back = at + length
    day.busy.append((at, back))
    day.emit(-2, at, "0")
    day.emit(-2, back, "1")
    truth.offline.append(
        {"charger_id": day.c.charger_id, "since": at, "until": back, "cause": "is_online"}
    )


def _fault(day: _Day, at: datetime, until: datetime, bits: list[int], truth: Truth) -> None:
    mask = sum(1 << b for b in bits)
    day.emit(804, at, str(mask))
    day.emit(804, until, "0")
    for b in bits:
        truth.faults.append(
            {"charger_id": day.c.charger_id, "bit": b, "raised": at, "cleared": until}
        )


def _session(
    day: _Day,
    at: datetime,
    length: timedelta,
    truth: Truth,
    *,
    with_723: bool,
    moved: bool,
    number: int,
) -> None:
    rng, c = day.rng, day.c
    sid = stable_id("session", c.charger_id, number)
    user = stable_id("user", rng.randint(1, 40))
    token = f"nfc-{rng.randint(0x10000000, 0xFFFFFFFF):08X}" if rng.random() < 0.7 else ""
    if rng.random() < 0.5:  # the session id sometimes precedes the car (710)
        day.emit(721, at - timedelta(seconds=1), sid)
    day.emit(710, at, "2")
    day.emit(721, at + timedelta(seconds=1), sid)
    day.emit(722, at + timedelta(seconds=1), user)
    charge_start = at + timedelta(seconds=rng.randint(5, 40))
    day.emit(710, charge_start, "3")
    power = rng.uniform(3.5, 11.0)  # kW
    end = at + length
    segments = [(at, sid)]
    if moved:  # cable moved to another car halfway: new 721, no disconnect (evcc #25027)
        mid = at + length / 2
        sid2 = stable_id("session", c.charger_id, number, "moved")
        segments = [(at, sid), (mid, sid2)]
    for k, (seg_start, seg_id) in enumerate(segments):
        seg_end = segments[k + 1][0] if k + 1 < len(segments) else end
        if k:
            day.emit(721, seg_start, seg_id)
            day.emit(553, seg_start + timedelta(seconds=2), "0.000")
        energy = 0.0
        t = max(seg_start + timedelta(seconds=5 if k else 0), charge_start)
        while t < seg_end - timedelta(minutes=10):
            day.emit(513, t, f"{power * 1000 * rng.uniform(0.95, 1.05):.0f}")
            day.emit(
                rng.choice((507, 508, 509)), t + timedelta(seconds=1), f"{power * 1000 / 690:.2f}"
            )
            if int((t - seg_start).total_seconds()) % 300 < 90:
                energy = power * (t - max(seg_start, charge_start)).total_seconds() / 3600
                day.emit(553, t, f"{energy:.3f}")
            t += timedelta(seconds=90)
        energy = round(
            power
            * max(
                0.0,
                (seg_end - timedelta(minutes=10) - max(seg_start, charge_start)).total_seconds(),
            )
            / 3600,
            3,
        )
        day.emit(553, seg_end - timedelta(minutes=9), f"{energy:.3f}")
        truth.sessions.append(
            {
                "charger_id": c.charger_id,
                "session_id": seg_id,
                "start": seg_start,
                "end": seg_end,
                "energy_kwh": energy,
                "with_723": with_723 and k == len(segments) - 1,
                "moved": bool(k) or (moved and k == 0),
            }
        )
    day.emit(710, end - timedelta(minutes=9, seconds=30), "5")
    day.emit(710, end, "1")
    day.emit(721, end + timedelta(milliseconds=300), None)  # valueless at session end
    day.emit(722, end + timedelta(milliseconds=310), None)
    if with_723:
        last_id, last_start = segments[-1][1], segments[-1][0]
        begin = rng.uniform(1000, 9000)
        signed = (
            None
            if rng.random() < 0.2
            else _ocmf(c, last_start, end, begin, truth.sessions[-1]["energy_kwh"])
        )
        completed = {
            "SessionId": last_id,
            "Energy": truth.sessions[-1]["energy_kwh"],
            "StartDateTime": last_start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "EndDateTime": (end - timedelta(milliseconds=rng.randint(100, 900))).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
            "ReliableClock": True,
            "StoppedByRFID": False,
            "AuthenticationCode": token,
            "FirstAuthenticatedDateTime": "",
            "SignedSession": signed,
        }
        day.emit(
            723,
            end + timedelta(seconds=rng.uniform(2, 12)),
            json.dumps(completed, separators=(",", ":")),
        )
        truth.sessions[-1]["auth_token"] = token or None
        truth.sessions[-1]["signed"] = signed is not None


def _ocmf(c: Charger, start: datetime, end: datetime, begin: float, energy: float) -> str:
    def tm(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S,") + f"{t.microsecond // 1000:03d}+00:00 R"

    mid = start + (end - start) / 2

    def reading(t: datetime, tx: str, kwh: float) -> dict[str, Any]:
        return {
            "TM": tm(t),
            "TX": tx,
            "RV": round(kwh, 3),
            "RI": "1-0:1.8.0",
            "RU": "kWh",
            "ST": "G",
        }

    payload = {
        "FV": "1.0",
        "GI": "ZAPTEC GO" if c.device_type == 4 else "ZAPTEC PRO",
        "GS": c.serial,
        "GV": "2.6.0.6",
        "PG": "T1",
        "RD": [
            reading(start, "B", begin),
            reading(mid, "T", begin + energy / 2),
            reading(end, "E", begin + energy),
        ],
    }
    signature = {"SA": "ECDSA-secp256r1-SHA256", "SD": "3045022100" + "ab" * 32}
    return (
        "OCMF|"
        + json.dumps(payload, separators=(",", ":"))
        + "|"
        + json.dumps(signature, separators=(",", ":"))
    )


_LATE_OK = frozenset({553, 722, *TELEMETRY_IDS})  # lateness that cannot change the outcome


def _stamp(rng: random.Random, t: datetime) -> str:
    """Zaptec's timestamp variety: 1-7 fractional digits, with or without Z."""
    digits = rng.choice((1, 2, 3, 3, 3, 6, 7))
    frac = f"{t.microsecond:06d}0"[:digits]
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + frac + ("Z" if rng.random() < 0.3 else "")


def _lines(rng: random.Random, frames: list[_Frame], truth: Truth, fleet: Fleet) -> Iterator[str]:
    queued: list[tuple[datetime, int, dict[str, Any]]] = []
    for f in frames:
        f.obs["Timestamp"] = _stamp(rng, f.obs["Timestamp"])
        at = f.at
        if f.obs["StateId"] in _LATE_OK and rng.random() < 0.01:
            at += timedelta(minutes=rng.uniform(1, 5))  # late arrival
        queued.append((at, f.seq, f.obs))
        if rng.random() < 0.02:  # redelivered: the same frame again a little later
            queued.append((at + timedelta(seconds=rng.uniform(1, 30)), f.seq, f.obs))
    queued.sort(key=lambda q: (q[0], q[1], q[2]["ChargerId"]))
    specials = _specials(rng, fleet, truth, queued[0][0], queued[-1][0])
    special_at = {rng.randrange(len(queued)): s for s in specials}
    for i, (at, _, obs) in enumerate(queued):
        if i in special_at:
            yield special_at[i]
        text = json.dumps(obs, separators=(",", ":"))
        if rng.random() < 0.6:
            body = nbfx_body(text.encode())
            yield json.dumps(
                {
                    "body_base64": base64.b64encode(body).decode(),
                    "message_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "enqueued_time_utc": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
            )
        else:
            yield text


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
        json.dumps({"ChargerId": fleet.chargers[1].charger_id, "Timestamp": "2026-04-26T12:00:00"}),
        json.dumps(
            {
                "ChargerId": fleet.chargers[2].charger_id,
                "StateId": 804,
                "Timestamp": "yesterday",
                "ValueAsString": "0",
            }
        ),
    ]
    truth.zero_charger_lines = len(zeros)
    truth.broken_lines = len(broken)
    return zeros + broken
