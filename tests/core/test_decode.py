"""Decoding capture lines and Service Bus bodies into observations, or stable rejections."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.inbound.decode import decode_body, decode_line
from shared.inbound.observations import Ignored, Observation, Rejection, Seen
from simulators.traffic import nbfx_body

CHARGER = "0aeea058-6b8e-4a44-9d9a-0123456789ab"


def obs(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "DeviceId": "ZAP000123",
        "DeviceType": 4,
        "ChargerId": CHARGER,
        "StateId": 710,
        "Timestamp": "2026-04-26T16:02:17.083",
        "ValueAsString": "3",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def envelope(body: bytes, **extra: str) -> str:
    return json.dumps({"body_base64": base64.b64encode(body).decode(), **extra})


def test_plain_json_observation() -> None:
    got = decode_line(json.dumps(obs()))
    assert got == Observation(
        charger_id=CHARGER,
        state_id=710,
        timestamp=datetime(2026, 4, 26, 16, 2, 17, 83000, tzinfo=UTC),
        value="3",
        serial="ZAP000123",
        device_type=4,
    )


def test_nbfx_envelope_carries_the_broker_time() -> None:
    body = nbfx_body(json.dumps(obs()).encode())
    got = decode_line(envelope(body, message_id="m1", enqueued_time_utc="2026-04-26T16:02:18Z"))
    assert isinstance(got, Observation)
    assert got.value == "3"
    assert got.received_at == datetime(2026, 4, 26, 16, 2, 18, tzinfo=UTC)


def test_plain_json_body_in_an_envelope_with_bom() -> None:
    got = decode_line(envelope(b"\xef\xbb\xbf" + json.dumps(obs()).encode()))
    assert isinstance(got, Observation)


@pytest.mark.parametrize(
    ("stamp", "micro"),
    [
        ("2026-04-26T16:02:17.0", 0),
        ("2026-04-26T16:02:17.08", 80000),
        ("2026-04-26T16:02:17.083Z", 83000),
        ("2026-04-26T16:02:17.083294", 83294),
        ("2026-04-26T16:02:17.0832947Z", 83294),
        ("2026-04-26T16:02:17Z", 0),
        ("2026-04-26T18:02:17.083+02:00", 83000),
    ],
)
def test_tolerant_utc_timestamps(stamp: str, micro: int) -> None:
    got = decode_line(json.dumps(obs(Timestamp=stamp)))
    assert isinstance(got, Observation)
    assert got.timestamp == datetime(2026, 4, 26, 16, 2, 17, micro, tzinfo=UTC)


def test_all_zero_charger_is_ignored_not_rejected() -> None:
    zero = "00000000-0000-0000-0000-000000000000"
    assert decode_line(json.dumps(obs(ChargerId=zero))) == Ignored("zero_charger")


def test_telemetry_is_only_a_sighting_but_its_charger_must_be_a_guid() -> None:
    """A sighting carries no value we act on, but its charger id must be real: a made-up
    one would become a charger that later "goes offline" and pages someone (issue 17)."""
    guid = "4B0C2A8E-3F1D-4C5E-9A7B-1D2E3F4A5B6C"
    got = decode_line(json.dumps(obs(StateId=513, ChargerId=guid, Timestamp="bad")))
    assert got == Seen(guid.lower(), "bad")
    for bad in ("NOT-A-GUID", "\u2603\u202e\u0000evil", "a" * 10_000):
        refused = decode_line(json.dumps(obs(StateId=513, ChargerId=bad)))
        assert isinstance(refused, Rejection)
        assert refused.code == "invalid_charger_id"
        body = json.dumps(obs(StateId=513, ChargerId=bad), separators=(",", ":")).encode()
        assert decode_body(body) == refused  # the fast path for bus bodies agrees


def test_optional_fields_may_be_missing() -> None:
    got = decode_line(json.dumps(obs(DeviceId=None, DeviceType=None, ValueAsString=None)))
    assert isinstance(got, Observation)
    assert (got.serial, got.device_type, got.value) == (None, None, None)


def test_numeric_and_string_state_ids() -> None:
    got = decode_line(json.dumps(obs(StateId="804", ValueAsString=0)))
    assert isinstance(got, Observation)
    assert (got.state_id, got.value) == (804, "0")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "not_an_object"),
        (json.dumps({"body_base64": "@@@"}), "invalid_base64"),
        (json.dumps({"body_base64": 5}), "invalid_base64"),
        (json.dumps({"body_base64": ""}), "empty_body"),
        (envelope(b"<xml/>"), "unknown_body_format"),
        (envelope(b'{"StateId": 1,'), "invalid_json_body"),
        (envelope(nbfx_body(b'{"a":1}')[:-3]), "nbfx_truncated"),
        (envelope(nbfx_body(b"\xff\xfe")), "unknown_body_format"),
        (json.dumps(obs(StateId=None)), "missing_field"),
        (json.dumps(obs(StateId="x7")), "invalid_state_id"),
        (json.dumps(obs(ChargerId=None)), "missing_field"),
        (json.dumps(obs(ChargerId="charger-1")), "invalid_charger_id"),
        (json.dumps(obs(Timestamp=None)), "missing_field"),
        (json.dumps(obs(Timestamp="yesterday")), "invalid_timestamp"),
        (json.dumps(obs(Timestamp="2026-04-26")), "invalid_timestamp"),
        (json.dumps(obs(Timestamp=1714147337)), "invalid_timestamp"),
        ("x" * (1 << 20 + 1), "line_too_long"),
    ],
)
def test_rejections_have_stable_codes(line: str, code: str) -> None:
    got = decode_line(line)
    assert isinstance(got, Rejection)
    assert got.code == code
    assert got.detail


@given(st.text(max_size=400))
def test_decode_line_never_raises(line: str) -> None:
    assert decode_line(line) is not None


@given(st.binary(max_size=400))
def test_decode_body_never_raises(body: bytes) -> None:
    assert decode_body(body) is not None


@given(
    st.dictionaries(
        st.sampled_from(
            ["DeviceId", "DeviceType", "ChargerId", "StateId", "Timestamp", "ValueAsString"]
        ),
        st.one_of(st.none(), st.integers(), st.text(max_size=40), st.floats(), st.booleans()),
    )
)
def test_any_field_values_decode_without_raising(fields: dict[str, object]) -> None:
    got = decode_line(json.dumps(fields))
    assert isinstance(got, Observation | Seen | Ignored | Rejection)
