"""Exactly one session.completed per session, from 723 or derived from the bus."""

from __future__ import annotations

from shared.charger.sessions import LATE_723, LATE_723_WINDOW
from shared.inbound.observations import Observation
from tests.core.builders import Run, completed, o
from tests.support.builders import at

SID = "0aeea058-1111-2222-3333-444455556666"
OCMF = (
    'OCMF|{"FV":"1.0","GI":"ZAPTEC GO","GS":"ZAP217141","GV":"2.6.0.6","PG":"T1","RD":['
    '{"TM":"2026-04-26T08:00:00,000+00:00 R","TX":"B","RV":8018.883,"RU":"kWh","ST":"G"},'
    '{"TM":"2026-04-26T09:00:00,000+00:00 R","TX":"T","RV":8025.000,"RU":"kWh","ST":"G"},'
    '{"TM":"2026-04-26T10:00:00,000+00:00 R","TX":"E","RV":8030.883,"RU":"kWh","ST":"G"}]}'
    '|{"SA":"ECDSA-secp256r1-SHA256","SD":"3045"}'
)


def session_frames(end: float = 120, energy: str = "12.5") -> list[Observation]:
    return [
        o(710, 0, "1"),
        o(710, 1, "2"),
        o(721, 1.1, SID),
        o(722, 1.2, "user-1"),
        o(710, 2, "3"),
        o(553, 60, "6.0"),
        o(553, end - 5, energy),
        o(710, end - 4, "5"),
        o(710, end, "1"),
        o(721, end + 0.01),  # valueless at session end
        o(722, end + 0.02),
    ]


def test_completed_session_723_gives_the_record_with_signed_data() -> None:
    frames = [
        *session_frames(),
        o(723, 120.2, completed(SID, 1, 120, 12.5, auth="nfc-04A1B2", signed=OCMF)),
    ]
    run = Run().feed(frames).until(at(500))
    [ev] = run.of("session.completed")
    assert (ev.session_id, ev.energy_kwh, ev.derived) == (SID, 12.5, False)
    assert ev.auth_token == "nfc-04A1B2"
    assert ev.signed_data == OCMF  # unaltered
    assert ev.ocmf["energy_kwh"] == "12.000"
    assert ev.ocmf["meter_serial"] == "ZAP217141"
    assert ev.user_id == "user-1"
    assert ev.reliable_clock is True
    assert ev.energy_source == "completed_session"


def test_without_723_the_session_is_derived_after_the_settle_wait() -> None:
    run = Run().feed(session_frames())
    run.until(at(121))
    assert run.of("session.completed") == []
    run.until(at(122))
    [ev] = run.of("session.completed")
    assert ev.derived is True
    assert ev.session_id == SID
    assert (ev.started_at, ev.ended_at) == (at(1), at(120))
    assert ev.energy_kwh == 12.5
    assert ev.energy_source == "bus"
    assert ev.signed_data is None
    assert ev.auth_token is None
    assert ev.start_estimated is False


def test_a_723_after_the_derived_completion_corrects_it_once() -> None:
    """issue 14: a late 723 is the vendor's own record (energy, token, OCMF): one
    session.corrected for finance's credit + rebill, still one session.completed."""
    late = completed(SID, 1, 120, 12.5, auth="nfc-04A1B2", signed=OCMF)
    run = Run().feed(session_frames()).until(at(130))
    run.feed([o(723, 131, late), o(723, 140, late)])
    assert len(run.of("session.completed")) == 1
    [fix] = run.of("session.corrected")
    assert (fix.session_id, fix.corrects, fix.derived) == (SID, SID, False)
    assert (fix.auth_token, fix.signed_data, fix.energy_kwh) == ("nfc-04A1B2", OCMF, 12.5)
    assert run.outcomes[-1] == "duplicate"  # the repeat adds nothing


def test_a_723_later_than_the_window_is_left_to_reconcile() -> None:
    run = Run().feed(session_frames()).until(at(130))
    run.feed([o(723, 120 + LATE_723_WINDOW.total_seconds() + 1, completed(SID, 1, 120, 12.5))])
    assert run.of("session.corrected") == []
    assert run.outcomes[-1] == LATE_723


def test_a_repeated_723_adds_nothing() -> None:
    payload = completed(SID, 1, 120, 12.5)
    run = Run().feed([*session_frames(), o(723, 120.2, payload), o(723, 120.4, payload)])
    assert len(run.of("session.completed")) == 1
    assert run.outcomes[-1] == "duplicate"


def test_723_with_a_different_id_matches_by_start_time() -> None:
    other = "ffffffff-1111-2222-3333-444455556666"
    run = Run().feed([*session_frames(), o(723, 120.2, completed(other, 1.02, 120, 12.4))])
    run.until(at(500))
    [ev] = run.of("session.completed")
    assert ev.session_id == other
    assert ev.derived is False
    # the 721 id is now known as completed: a stray repeat of it opens nothing
    run.feed([o(710, 600, "2"), o(721, 600.1, SID)])
    assert run.state.session is not None
    assert run.state.session.session_id is None


def test_a_723_for_a_session_never_seen_still_counts_once() -> None:
    run = Run().feed([o(723, 10, completed(SID, 1, 9, 3.0))]).until(at(100))
    assert len(run.of("session.completed")) == 1


def test_cable_moved_to_another_car_splits_the_session() -> None:
    second = "22222222-1111-2222-3333-444455556666"
    frames = [
        o(710, 0, "1"),
        o(710, 1, "2"),
        o(721, 1.1, SID),
        o(553, 30, "4.0"),
        o(721, 50, second),  # new id, no disconnect
        o(553, 80, "2.0"),
        o(710, 100, "1"),
    ]
    run = Run().feed(frames).until(at(200))
    done = run.of("session.completed")
    assert [e.session_id for e in done] == [SID, second]
    assert [(e.started_at, e.ended_at) for e in done] == [(at(1), at(50)), (at(50), at(100))]
    assert [e.energy_kwh for e in done] == [4.0, 2.0]


def test_session_id_before_the_car_is_kept_for_the_next_start() -> None:
    run = Run().feed([o(710, 0, "1"), o(721, 0.5, SID), o(710, 1, "2"), o(710, 30, "1")])
    run.until(at(100))
    [ev] = run.of("session.completed")
    assert ev.session_id == SID
    assert ev.started_at == at(1)


def test_a_late_energy_reading_after_the_end_updates_the_pending_session() -> None:
    run = Run().feed([*session_frames(energy="12.5")[:-3], o(710, 120, "1"), o(553, 118, "13.1")])
    run.until(at(200))
    assert run.of("session.completed")[0].energy_kwh == 13.1


def test_without_any_energy_reading_energy_is_zero_and_says_so() -> None:
    run = Run().feed([o(710, 0, "1"), o(710, 1, "3"), o(710, 20, "1")]).until(at(60))
    [ev] = run.of("session.completed")
    assert ev.energy_kwh == 0.0
    assert ev.energy_source == "none"
    assert len(ev.session_id) == 36  # a stable synthetic id


def test_capture_starting_mid_session_marks_the_start_estimated() -> None:
    run = Run().feed([o(710, 0, "3"), o(553, 5, "2.0"), o(710, 20, "1")]).until(at(60))
    assert run.of("session.completed")[0].start_estimated is True


def test_paused_is_not_finished() -> None:
    run = Run().feed([o(710, 0, "1"), o(710, 1, "3"), o(710, 30, "5"), o(710, 40, "3")])
    run.until(at(100))
    assert run.of("session.completed") == []


def test_null_signed_session_and_broken_ocmf_are_carried_not_fatal() -> None:
    run = Run().feed(
        [*session_frames(), o(723, 120.2, completed(SID, 1, 120, 12.5, signed="OCMF|{broken"))]
    )
    [ev] = run.of("session.completed")
    assert ev.signed_data == "OCMF|{broken"
    assert ev.ocmf is None
    assert ev.ocmf_error


def test_a_bad_723_is_rejected() -> None:
    run = Run().feed([o(723, 1, '{"Energy": 3}'), o(723, 2, "not json")])
    assert [getattr(x, "code", None) for x in run.outcomes] == ["invalid_completed_session"] * 2


def test_a_723_from_long_before_the_newest_one_is_stale() -> None:
    old = "11111111-1111-2222-3333-444455556666"
    run = Run().feed(
        [
            o(723, 10, completed(old, 1, 9, 3.0)),
            o(723, 24 * 60, completed(SID, 23 * 60, 24 * 60 - 1, 5.0)),
            o(723, 10, completed(old, 1, 9, 3.0)),  # replayed long after: ignored, not reapplied
        ]
    )
    assert len(run.of("session.completed")) == 2
    assert run.outcomes[-1] == "stale"
