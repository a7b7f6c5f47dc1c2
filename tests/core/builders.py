"""Terse builders for observations and state-machine runs in the core tests (minutes
after ``tests.support.builders.T0``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from shared.charger import state
from shared.charger.model import ChargerState
from shared.charger.transition import Detection
from shared.events.model import ChargerEvent
from shared.inbound.observations import Observation
from tests.support import builders
from tests.support.builders import CHARGER, SERIAL, at

RULES = Detection(session_settle=timedelta(minutes=2), silence_after=timedelta(hours=1))


def o(state_id: int, minutes: float, value: str | None = None, **kw: Any) -> Observation:
    return Observation(
        charger_id=kw.pop("charger_id", CHARGER),
        state_id=state_id,
        timestamp=at(minutes),
        value=value,
        serial=kw.pop("serial", SERIAL),
        device_type=kw.pop("device_type", 4),
    )


def completed(session_id: str, start: float, end: float, energy: float, **kw: Any) -> str:
    """A 723 payload for a session from ``start`` to ``end`` minutes (``auth``, ``signed``)."""
    return builders.completed(
        session_id,
        at(start).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        at(end).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        energy,
        token=kw.get("auth", ""),
        signed=kw.get("signed"),
    )


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
