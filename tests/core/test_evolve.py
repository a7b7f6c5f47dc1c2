"""``evolve`` makes what ``dataclasses.replace`` makes (shared.charger.evolve, issue 16)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.charger.evolve import evolve
from shared.charger.model import ChargerState, CompletedRef, EndedSession, OpenSession
from shared.charger.transition import Transition

times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
sessions = st.builds(OpenSession, st.text(max_size=8), times)
changes = st.fixed_dictionaries(
    {},
    optional={
        "serial": st.none() | st.text(max_size=8),
        "last_seen": st.none() | times,
        "online": st.booleans(),
        "warnings": st.integers(0, 2**63),
        "raised": st.dictionaries(st.integers(0, 63), times, max_size=3),
        "session": st.none() | sessions,
        "ended": st.lists(st.builds(EndedSession, sessions, times, times), max_size=2).map(tuple),
        "completed": st.just(()),
    },
)


@given(st.builds(ChargerState, st.text(max_size=8), last_seen=st.none() | times), changes)
def test_a_charger_state_evolves_as_replace_makes_it(state: ChargerState, change: Any) -> None:
    made = evolve(state, **change)
    assert made == dataclasses.replace(state, **change)
    assert type(made) is ChargerState
    assert made is not state
    for name in (f.name for f in dataclasses.fields(state)):
        assert getattr(made, name) is change.get(name, getattr(state, name))


def test_every_record_of_the_state_machine_evolves() -> None:
    at = datetime(2026, 4, 26, tzinfo=UTC)
    opened = OpenSession("s1", at)
    assert evolve(opened, energy_kwh=1.5) == dataclasses.replace(opened, energy_kwh=1.5)
    ref = CompletedRef("s1", at, False)
    assert evolve(ref, derived=True) == dataclasses.replace(ref, derived=True)
    done = Transition(ChargerState("c"))
    assert evolve(done, events=()) == dataclasses.replace(done, events=())


def test_an_unknown_field_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'onlin'"):
        evolve(ChargerState("c"), onlin=False)


def test_init_runs_as_for_replace() -> None:
    @dataclasses.dataclass(frozen=True)
    class Checked:
        n: int
        tag: str = dataclasses.field(default="x", kw_only=True)

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    assert evolve(Checked(1), tag="y") == Checked(1, tag="y")
    with pytest.raises(ValueError, match="negative"):
        evolve(Checked(1), n=-1)


def test_a_field_init_does_not_take_is_refused() -> None:
    @dataclasses.dataclass
    class Derived:
        n: int
        double: int = dataclasses.field(init=False, default=0)

    with pytest.raises(TypeError, match="__init__ does not take"):
        evolve(Derived(1), n=2)
