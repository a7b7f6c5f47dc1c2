"""One charger's day, planned first and written lazily, in time order.

The plan (offline periods, faults, sessions and every value they carry) is small and is
decided up front, so the ground truth is complete before a single line is written and a
test can compare what a replay raised with what was planned. The frames themselves (about
a thousand a charger-day, mostly telemetry and meter values) are produced on demand in
time order, so a 1,100-charger day streams through in flat memory instead of being held
and sorted whole.

Telemetry runs until the capture end the whole fleet shares (``frames(capture_end)``),
not until this charger's own last planned frame: a charger whose session runs past the
nominal end of the day keeps everyone else's telemetry going, so the replay's data clock
never sees a charger silent that was not planned silent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from heapq import merge
from typing import Any

from simulators.fleet import Charger, stable_id

__all__ = ["TELEMETRY_IDS", "ChargerDay", "Frame"]

TELEMETRY_IDS = (150, 201, 202, 270, 501, 502, 503, 809, 810, -1)
_METER_STEP = timedelta(seconds=90)


@dataclass(order=True)
class Frame:
    """A frame as it reaches the bus: ``at`` is the enqueue time; ``key`` orders ties."""

    at: datetime
    key: tuple[int, int, int]
    obs: dict[str, Any] = field(compare=False)


@dataclass
class _Session:
    at: datetime
    length: timedelta
    segments: list[tuple[datetime, str]]
    charge_start: datetime
    power: float  # kW
    energies: list[float]  # per segment, as the final 553 and the truth say
    user: str
    precede_721: bool
    completed: str | None  # the CompletedSession (723) value, when one is sent
    completed_at: datetime | None

    @property
    def end(self) -> datetime:
        return self.at + self.length


class ChargerDay:
    """One charger's plan for the day and the lazy stream of its frames."""

    def __init__(self, seed: float, charger: Charger, index: int, start: datetime) -> None:
        self.rng = random.Random(seed)  # decides the plan
        self.noise = random.Random(self.rng.random())  # jitter and values while writing
        self.c, self.index, self.start = charger, index, start
        self.busy: list[tuple[datetime, datetime]] = []  # offline: no telemetry inside
        self.events: list[tuple[datetime, int, str | None]] = []  # discrete frames
        self.sessions: list[_Session] = []

    @property
    def last(self) -> datetime:
        """The newest planned frame (telemetry aside): where this charger's day ends."""
        times = [t for t, _, _ in self.events]
        times += [s.completed_at or s.end for s in self.sessions]
        return max(times, default=self.start)

    def free(self, a: datetime, b: datetime, margin: timedelta = timedelta(0)) -> bool:
        return not any(x - margin < b and a < y + margin for x, y in self.busy)

    def event(self, at: datetime, state_id: int, value: str | None) -> None:
        self.events.append((at, state_id, value))

    def add_session(self, at: datetime, length: timedelta, number: int, *, moved: bool) -> _Session:
        """Decide everything about one session now (ids, power, energy, its 723)."""
        rng, c = self.rng, self.c
        with_723 = rng.random() < 0.65
        sid = stable_id("session", c.charger_id, number)
        user = stable_id("user", rng.randint(1, 40))
        token = f"nfc-{rng.randint(0x10000000, 0xFFFFFFFF):08X}" if rng.random() < 0.7 else ""
        precede = rng.random() < 0.5  # the session id sometimes precedes the car (710)
        charge_start = at + timedelta(seconds=rng.randint(5, 40))
        power = rng.uniform(3.5, 11.0)
        end = at + length
        segments = [(at, sid)]
        if moved:  # cable moved to another car halfway: new 721, no disconnect (evcc #25027)
            segments.append((at + length / 2, stable_id("session", c.charger_id, number, "moved")))
        energies = []
        for k, (seg_start, _) in enumerate(segments):
            seg_end = segments[k + 1][0] if k + 1 < len(segments) else end
            span = seg_end - timedelta(minutes=10) - max(seg_start, charge_start)
            energies.append(round(power * max(0.0, span.total_seconds()) / 3600, 3))
        completed, completed_at = None, None
        if with_723:
            last_start, last_id = segments[-1]
            begin = rng.uniform(1000, 9000)
            signed = None if rng.random() < 0.2 else _ocmf(c, last_start, end, begin, energies[-1])
            completed = json.dumps(
                {
                    "SessionId": last_id,
                    "Energy": energies[-1],
                    "StartDateTime": last_start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "EndDateTime": (end - timedelta(milliseconds=rng.randint(100, 900))).strftime(
                        "%Y-%m-%dT%H:%M:%S.%fZ"
                    ),
                    "ReliableClock": True,
                    "StoppedByRFID": False,
                    "AuthenticationCode": token,
                    "FirstAuthenticatedDateTime": "",
                    "SignedSession": signed,
                },
                separators=(",", ":"),
            )
            completed_at = end + timedelta(seconds=rng.uniform(2, 12))
        session = _Session(
            at, length, segments, charge_start, power, energies, user, precede, completed,
            completed_at,
        )  # fmt: skip
        self.sessions.append(session)
        return session

    # -- writing -------------------------------------------------------------------------

    def frames(self, capture_end: datetime, telemetry_every: timedelta) -> Iterator[Frame]:
        """Every frame of the day in enqueue order, telemetry until ``capture_end``."""
        streams: list[Iterator[Frame]] = [
            self._discrete(),
            self._telemetry(capture_end, telemetry_every),
        ]
        streams += [self._meter(n, s) for n, s in enumerate(self.sessions, start=2)]
        return merge(*streams)

    def _frame(self, stream: int, n: int, state_id: int, at: datetime, value: str | None) -> Frame:
        obs: dict[str, Any] = {
            "DeviceId": self.c.serial,
            "DeviceType": self.c.device_type,
            "ChargerId": self.c.charger_id,
            "StateId": state_id,
            "Timestamp": at,
        }
        if value is not None:
            obs["ValueAsString"] = value
        jitter = timedelta(milliseconds=self.noise.randint(20, 900))
        return Frame(at + jitter, (self.index, stream, n), obs)

    def _discrete(self) -> Iterator[Frame]:
        """State changes, warnings and session edges: few, so sorted as a list."""
        events = list(self.events)
        for s in self.sessions:
            events.extend(_session_edges(s))
        events.sort(key=lambda e: e[0])
        yield from sorted(self._frame(0, n, sid, at, v) for n, (at, sid, v) in enumerate(events))

    def _telemetry(self, until: datetime, every: timedelta) -> Iterator[Frame]:
        """Noise everywhere the charger is online, up to the fleet's capture end."""
        rng = self.noise
        t = self.start + timedelta(seconds=rng.randint(0, 200))
        n = 0
        while t < until:
            if self.free(t, t):
                value = None if rng.random() < 0.1 else f"{rng.uniform(0, 240):.1f}"
                n += 1
                yield self._frame(1, n, rng.choice(TELEMETRY_IDS), t, value)
            t += every * rng.uniform(0.3, 1.7)

    def _meter(self, stream: int, s: _Session) -> Iterator[Frame]:
        """Power, current and energy every 90 s while charging, one step at a time."""
        rng, n = self.noise, 0
        for k, (seg_start, _) in enumerate(s.segments):
            seg_end = s.segments[k + 1][0] if k + 1 < len(s.segments) else s.end
            t = max(seg_start + timedelta(seconds=5 if k else 0), s.charge_start)
            while t < seg_end - timedelta(minutes=10):
                step = [(513, t, f"{s.power * 1000 * rng.uniform(0.95, 1.05):.0f}")]
                step.append((rng.choice((507, 508, 509)), t + timedelta(seconds=1),
                             f"{s.power * 1000 / 690:.2f}"))  # fmt: skip
                if int((t - seg_start).total_seconds()) % 300 < 90:
                    kwh = s.power * (t - max(seg_start, s.charge_start)).total_seconds() / 3600
                    step.append((553, t, f"{kwh:.3f}"))
                frames = []
                for sid, at, value in step:
                    n += 1
                    frames.append(self._frame(stream, n, sid, at, value))
                yield from sorted(frames)  # within a step jitter may reorder; steps cannot
                t += _METER_STEP


def _session_edges(s: _Session) -> list[tuple[datetime, int, str | None]]:
    """A session's discrete frames: plug-in, ids, charging, segment changes, the end."""
    at, end, sid = s.at, s.end, s.segments[0][1]
    edges: list[tuple[datetime, int, str | None]] = []
    if s.precede_721:
        edges.append((at - timedelta(seconds=1), 721, sid))
    edges += [(at, 710, "2"), (at + timedelta(seconds=1), 721, sid)]
    edges += [(at + timedelta(seconds=1), 722, s.user), (s.charge_start, 710, "3")]
    for k, (seg_start, seg_id) in enumerate(s.segments):
        seg_end = s.segments[k + 1][0] if k + 1 < len(s.segments) else end
        if k:
            edges += [(seg_start, 721, seg_id), (seg_start + timedelta(seconds=2), 553, "0.000")]
        edges.append((seg_end - timedelta(minutes=9), 553, f"{s.energies[k]:.3f}"))
    edges += [(end - timedelta(minutes=9, seconds=30), 710, "5"), (end, 710, "1")]
    edges.append((end + timedelta(milliseconds=300), 721, None))  # valueless at session end
    edges.append((end + timedelta(milliseconds=310), 722, None))
    if s.completed is not None and s.completed_at is not None:
        edges.append((s.completed_at, 723, s.completed))
    return edges


def _ocmf(c: Charger, start: datetime, end: datetime, begin: float, energy: float) -> str:
    """A signed-meter string in OCMF's shape (the signature is filler, not a signature)."""

    def tm(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S,") + f"{t.microsecond // 1000:03d}+00:00 R"

    mid = start + (end - start) / 2

    def reading(t: datetime, tx: str, kwh: float) -> dict[str, Any]:
        return {"TM": tm(t), "TX": tx, "RV": round(kwh, 3), "RI": "1-0:1.8.0", "RU": "kWh",
                "ST": "G"}  # fmt: skip

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
