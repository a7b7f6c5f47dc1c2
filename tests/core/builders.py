"""Terse builders for observations and state-machine runs in tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.charger import state
from shared.charger.model import ChargerState
from shared.charger.transition import Detection
from shared.events.model import ChargerEvent
from shared.inbound.observations import Observation

CHARGER = "5b1c3f0e-9a7d-4e2b-8c6f-1d2e3f4a5b6c"
T0 = datetime(2026, 4, 26, 8, 0, tzinfo=UTC)
RULES = Detection(session_settle=timedelta(minutes=2), silence_after=timedelta(hours=1))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def o(state_id: int, minutes: float, value: str | None = None, **kw: Any) -> Observation:
    return Observation(
        charger_id=kw.pop("charger_id", CHARGER),
        state_id=state_id,
        timestamp=at(minutes),
        value=value,
        serial=kw.pop("serial", "ZAP000123"),
        device_type=kw.pop("device_type", 4),
    )


def completed(session_id: str, start: float, end: float, energy: float, **kw: Any) -> str:
    payload = {
        "SessionId": session_id,
        "Energy": energy,
        "StartDateTime": at(start).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "EndDateTime": at(end).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "ReliableClock": True,
        "StoppedByRFID": False,
        "AuthenticationCode": kw.get("auth", ""),
        "FirstAuthenticatedDateTime": "",
        "SignedSession": kw.get("signed"),
    }
    return json.dumps(payload)


class Run:
    """Feed observations through ``state.apply`` with ``tick`` at each timestamp, like ingest."""

    def __init__(self, rules: Detection = RULES, charger: str = CHARGER) -> None:
        self.rules = rules
        self.state = ChargerState(charger_id=charger)
        self.events: list[ChargerEvent] = []
        self.outcomes: list[object] = []

    def feed(self, observations: Iterable[Observation]) -> Run:
        for ob in observations:
            self.until(ob.timestamp)
            t = state.apply(self.state, ob, self.rules)
            self.state = t.state
            self.events.extend(t.events)
            self.outcomes.append(t.outcome)
        return self

    def until(self, now: datetime) -> Run:
        while (due := state.next_deadline(self.state, self.rules)) is not None and due <= now:
            t = state.tick(self.state, due, self.rules)
            self.state = t.state
            self.events.extend(t.events)
        return self

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.type == kind]
