"""Hand-checked rules of the per-charger state machine (faults, offline periods, staleness)."""

from __future__ import annotations

from datetime import timedelta

from shared.charger.transition import Detection
from shared.inbound.observations import Rejection
from tests.core.builders import RULES, Run, o
from tests.support.builders import at

RELAY_WELDED_GO = 1 << 49
RELAY_WELDED_PRO = 1 << 7


def test_a_warning_bit_raises_and_clears_one_fault_each() -> None:
    run = Run().feed([o(804, 0, "0"), o(804, 10, str(RELAY_WELDED_GO)), o(804, 40, "0")])
    raised, cleared = run.of("charger.fault.raised"), run.of("charger.fault.cleared")
    assert len(raised) == 1
    assert len(cleared) == 1
    assert raised[0].fault_code == "RELAY_WELDED"
    assert raised[0].ocpp_error_code == "PowerSwitchFailure"
    assert raised[0].severity == "critical"
    assert cleared[0].raised_at == at(10)
    assert cleared[0].duration_seconds == 30 * 60


def test_bit_names_follow_the_device_family() -> None:
    go = Run().feed([o(804, 0, str(RELAY_WELDED_PRO))]).of("charger.fault.raised")[0]
    pro = Run().feed([o(804, 0, str(RELAY_WELDED_PRO), device_type=1, serial="ZCS000001")])
    assert go.fault_code == "LOW_LEVEL_12V"  # bit 7 on a Go
    assert pro.of("charger.fault.raised")[0].fault_code == "RELAY_WELDED"


def test_family_from_serial_when_device_type_is_missing() -> None:
    run = Run().feed([o(804, 0, str(RELAY_WELDED_GO), device_type=None, serial="GPN000001")])
    assert run.of("charger.fault.raised")[0].fault_code == "RELAY_WELDED"


def test_unknown_family_names_the_bit() -> None:
    run = Run().feed([o(804, 0, "8", device_type=None, serial="XYZ1")])
    assert run.of("charger.fault.raised")[0].fault_code == "WARNING_BIT_3"


def test_several_bits_change_at_once() -> None:
    run = Run().feed([o(804, 0, str(0b0110)), o(804, 5, str(0b1100))])
    assert run.types() == [
        "charger.fault.raised",
        "charger.fault.raised",
        "charger.fault.raised",
        "charger.fault.cleared",
    ]
    assert [e.bit for e in run.of("charger.fault.raised")] == [1, 2, 3]
    assert [e.bit for e in run.of("charger.fault.cleared")] == [1]


def test_a_late_older_warnings_value_never_overrides_a_newer_one() -> None:
    run = Run().feed([o(804, 10, "4"), o(804, 5, "0")])
    assert run.state.warnings == 4
    assert run.outcomes == ["applied", "applied"]  # merged: no excursion, no event
    assert run.types() == ["charger.fault.raised"]


def test_an_exact_duplicate_changes_nothing() -> None:
    run = Run().feed([o(804, 10, "4"), o(804, 10, "4")])
    assert run.outcomes == ["applied", "duplicate"]
    assert len(run.events) == 1


def test_bad_warnings_value_is_rejected_not_raised() -> None:
    run = Run().feed([o(804, 0, "lots")])
    assert isinstance(run.outcomes[0], Rejection)
    assert run.outcomes[0].code == "invalid_value"


def test_is_online_gives_one_offline_and_one_online_with_the_length() -> None:
    run = Run().feed([o(-2, 0, "1"), o(-2, 5, "0"), o(-2, 6, "0"), o(-2, 35, "1")])
    assert run.types() == ["charger.offline", "charger.online"]
    online = run.of("charger.online")[0]
    assert online.offline_since == at(5)
    assert online.online_at == at(35)
    assert online.offline_seconds == 30 * 60


def test_silence_means_offline_and_any_frame_brings_it_back() -> None:
    run = Run().feed([o(-2, 0, "1")])
    run.until(at(59))
    assert run.events == []
    run.until(at(61))
    offline = run.of("charger.offline")
    assert len(offline) == 1
    assert offline[0].cause == "silence"
    assert offline[0].offline_since == at(0)
    assert offline[0].observed_at == at(60)
    run.feed([o(553, 90, "0.0")])
    back = run.of("charger.online")
    assert len(back) == 1
    assert back[0].offline_seconds == 90 * 60


def test_silence_detection_can_be_switched_off() -> None:
    run = Run(Detection(silence_after=None)).feed([o(-2, 0, "1")])
    run.until(at(600))
    assert run.events == []


def test_is_online_zero_while_silent_takes_over_without_a_second_event() -> None:
    run = Run().feed([o(-2, 0, "1")]).until(at(70))
    run.feed([o(-2, 80, "0"), o(553, 85, "1.0"), o(-2, 100, "1")])
    assert run.types() == ["charger.offline", "charger.online"]
    assert run.of("charger.online")[0].cause == "is_online"


def test_event_ids_are_deterministic() -> None:
    a = Run().feed([o(804, 0, "4"), o(-2, 3, "0")])
    b = Run().feed([o(804, 0, "4"), o(-2, 3, "0")])
    assert [e.id for e in a.events] == [e.id for e in b.events]
    assert len({e.id for e in a.events}) == 2


def test_serial_is_carried_on_events() -> None:
    run = Run().feed([o(804, 0, "4", serial="ZAP999999")])
    assert run.events[0].serial == "ZAP999999"


def test_rules_defaults_are_documented_values() -> None:
    assert RULES.session_settle == timedelta(minutes=2)
