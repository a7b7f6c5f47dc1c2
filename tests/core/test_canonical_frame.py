"""The canonical-frame shortcut (``shared.inbound.canonical``) decides exactly what the
full strict path decides, and never takes a frame that names a key twice.

The shortcut exists for speed (issue 16); hardening (issue 17) must not be lost by it. So
every generated body, canonical or a near miss (escapes, whitespace, a repeated key, a
lying NBFX length, numbers JSON forbids, values ``normalize`` refuses), is decoded twice:
by ``decode_body`` as it is, and with the shortcut switched off. The two results must be
equal, rejection details included.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.inbound.canonical import decode_canonical
from shared.inbound.decode import decode_body, decode_strict
from shared.inbound.observations import ZERO_CHARGER, Observation, Rejection, Seen
from tests.fuzz.corpus import NBFX_HEADER

SEEDED = settings(
    max_examples=1000, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
GUID = "0aeea058-6b8e-4a44-9d9a-0123456789ab"
KEYS = ["DeviceId", "DeviceType", "ChargerId", "StateId", "Timestamp", "ValueAsString"]


def strict(body: bytes) -> object:
    """The strict path alone: NBFX reader, orjson, the duplicate-key proof, normalize."""
    return decode_strict(body)


def wrap(text: bytes, record: int = 0x98, off: int = 0, end: bytes | None = None) -> bytes:
    """``text`` in the NBFX string wrapper, its length byte ``off`` from the truth."""
    tail = (b"\x01" if record == 0x98 else b"") if end is None else end
    return NBFX_HEADER + bytes([record, (len(text) + off) % 256]) + text + tail


def frame(tokens: dict[str, str]) -> bytes:
    """A frame written token by token (values are raw JSON, so they can be anything)."""
    return ("{" + ",".join(f'"{k}":{v}' for k, v in tokens.items()) + "}").encode()


_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=70)
_strings = st.one_of(
    _ascii.map(json.dumps),  # '"' and '\\' come out escaped
    st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.sampled_from(['"a\\u0062"', '"\\/"', '"tab\there"', '""', "1", "null", "[]", "{}"]),
)
_ints = st.one_of(
    st.integers(-(2**33), 2**33).map(str),
    st.sampled_from(["0", "-0", "01", "-01", "1.0", "1e2", "NaN", "true", '"710"', "2147483648"]),
)
_state_ids = st.one_of(
    st.sampled_from([-2, -1, 201, 513, 553, 710, 718, 721, 722, 723, 804, 2**31 - 1, -(2**31)]).map(
        str
    ),
    _ints,
)
_chargers = st.one_of(
    st.just(json.dumps(GUID)),
    st.just(json.dumps(GUID.upper())),
    st.just(json.dumps(ZERO_CHARGER)),
    st.sampled_from([f'"{GUID[:-1]}g"', f'"{GUID}0"', f'"{GUID[:8]}"', '"\\u0030aeea058"']),
    _strings,
)
_stamps = st.one_of(
    st.sampled_from(
        [
            '"2026-04-26T16:02:17.083"',
            '"2026-04-26T16:02:17.083Z"',
            '"2026-04-26T16:02:17+15:00"',
            '"0001-01-01T00:00:00"',
            '"0001-01-01T00:00:00+01:00"',
            '"9999-12-31T23:59:59-01:00"',
            '"2026-04-26"',
            '"yesterday"',
        ]
    ),
    _strings,
)
_values = st.one_of(
    st.sampled_from(['"1"', '"3"', '"0x10"', '"12.5"', '"-1"', '"abc"', '"1e999"', '""']),
    st.just('"' + "7" * 1025 + '"'),
    _strings,
)


_serial = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='"\\'),
    min_size=1,
    max_size=66,
)
_times = st.datetimes(datetime(1999, 12, 31, 23), datetime(2101, 1, 1, 1))
_usual = {  # what Zaptec sends: most draws take these, so most bodies are canonical
    "DeviceId": _serial.map(json.dumps),
    "DeviceType": st.integers(-(2**32), 2**32).map(str),
    "ChargerId": st.tuples(st.uuids(), st.booleans()).map(
        lambda g: json.dumps(str(g[0]).upper() if g[1] else str(g[0]))
    ),
    "StateId": st.sampled_from([-2, -1, 201, 513, 553, 710, 721, 722, 723, 804]).map(str),
    "Timestamp": st.one_of(
        _times.map(lambda d: json.dumps(d.isoformat())),
        _times.map(lambda d: json.dumps(d.isoformat(timespec="milliseconds") + "Z")),
        _stamps,
    ),
    "ValueAsString": st.one_of(_values, _ascii.map(json.dumps)),
}
_odd = {
    "DeviceId": _strings,
    "DeviceType": _ints,
    "ChargerId": _chargers,
    "StateId": _state_ids,
    "Timestamp": _stamps,
    "ValueAsString": _values,
}


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    tokens = {
        key: draw(_odd[key] if draw(st.integers(0, 11)) == 0 else _usual[key]) for key in KEYS
    }
    if draw(st.booleans()):
        del tokens["ValueAsString"]
    text = frame(tokens)
    if draw(st.integers(0, 7)) == 0:  # a key written twice, maybe spelled with an escape
        key = draw(st.sampled_from(KEYS))
        spelled = draw(st.sampled_from([key, "\\u00" + f"{ord(key[0]):02x}" + key[1:]]))
        at = draw(st.sampled_from([1, len(text) - 1]))
        extra = f'"{spelled}":{tokens.get(key, "1")}'.encode()
        text = text[:at] + (extra + b"," if at == 1 else b"," + extra) + text[at:]
    if draw(st.integers(0, 6)) == 0:
        text = text.replace(b",", b", ", 1)
    wrapper = draw(st.integers(0, 15))
    if wrapper == 0:
        return text  # a plain JSON body
    if wrapper < 4:  # a record, length byte and end that may not fit together
        record = draw(st.sampled_from([0x98, 0x99]))
        off = draw(st.sampled_from([-1, 0, 1]))
        return wrap(text, record, off, draw(st.sampled_from([None, b"", b"\x01"])))
    return wrap(text)


@SEEDED
@given(bodies())
@example(wrap(b'{"DeviceId":"Z","DeviceType":4,"ChargerId":"' + GUID.encode() + b'","StateId":1}'))
def test_the_shortcut_decides_exactly_what_the_strict_path_decides(body: bytes) -> None:
    assert decode_body(body) == strict(body), body


@SEEDED
@given(bodies(), st.sampled_from(KEYS), st.booleans())
def test_no_frame_that_repeats_a_key_takes_the_shortcut(
    body: bytes, key: str, escaped: bool
) -> None:
    start, stop = body.find(b"{"), body.rfind(b"}") + 1
    if start < 0 or stop <= start:
        return
    spelled = ("\\u00" + f"{ord(key[0]):02x}" + key[1:]) if escaped else key
    for text in (
        body[start : stop - 1] + f',"{spelled}":1}}'.encode(),
        b"{" + f'"{spelled}":1,'.encode() + body[start + 1 : stop],
    ):
        repeated = wrap(text)
        assert decode_canonical(repeated, None) is None, repeated
        got = decode_body(repeated)
        if f'"{key}":'.encode() in body:  # then the key is there twice
            assert isinstance(got, Rejection), repeated


@st.composite
def tails(draw: st.DrawFn, head: dict[str, str]) -> tuple[bytes, bool]:
    """A body with ``head``'s tokens and a drawn tail (time, value, maybe a key more or a
    key again) in a wrapper that may lie; and whether it names a key twice."""
    tokens = {
        **head,
        "Timestamp": draw(_usual["Timestamp"] | _odd["Timestamp"]),
        "ValueAsString": draw(_usual["ValueAsString"] | _odd["ValueAsString"]),
    }
    if draw(st.booleans()):
        del tokens["ValueAsString"]
    text = frame(tokens)
    extra = draw(st.sampled_from(["", *KEYS, "\\u0053tateId", "Other"]))
    if extra:
        text = text[:-1] + f',"{extra}":{draw(_ints)}}}'.encode()
    record = draw(st.sampled_from([0x98, 0x98, 0x99, 0x9A]))
    off, end = draw(st.sampled_from([0, 0, -1, 1])), draw(st.sampled_from([None, b""]))
    body = wrap(text, record, off, end)
    if draw(st.integers(0, 5)) == 0:  # another root element or namespace, same length
        at = draw(st.integers(0, len(NBFX_HEADER) - 1))
        flip = draw(st.sampled_from([1, 0x20, 0x80]))
        body = body[:at] + bytes([body[at] ^ flip]) + body[at + 1 :]
    return body, extra in tokens or extra == "\\u0053tateId"


@SEEDED
@given(st.data())
def test_a_body_whose_head_was_seen_before_is_still_decided_alike(data: st.DataObject) -> None:
    head = {key: data.draw(_usual[key]) for key in KEYS[:4]}
    first = wrap(frame({**head, "Timestamp": '"2026-04-26T16:02:17Z"'}))
    assert decode_body(first) == strict(first)  # proves the head when it is canonical
    body, repeated = data.draw(tails(head))
    got = decode_body(body)
    assert got == strict(body), body
    if repeated:
        assert isinstance(got, Rejection), body


@pytest.mark.parametrize("state_id", ["513", "710"])
@pytest.mark.parametrize("record", [0x98, 0x99])
@pytest.mark.parametrize("off", [-2, -1, 0, 1, 2])
@pytest.mark.parametrize("end", [None, b"", b"\x01", b"\x01\x01"])
def test_every_record_length_and_end_is_decided_alike(
    state_id: str, record: int, off: int, end: bytes | None
) -> None:
    text = frame(
        {
            "DeviceId": '"ZAP000123"',
            "DeviceType": "4",
            "ChargerId": json.dumps(GUID),
            "StateId": state_id,
            "Timestamp": '"2026-04-26T16:02:17Z"',
            "ValueAsString": '"3"',
        }
    )
    body = wrap(text, record, off, end)
    got = decode_body(body)
    assert got == strict(body)
    if off:  # a length byte that lies is never read past or short of
        assert isinstance(got, Rejection), got


def test_the_usual_frames_take_the_shortcut() -> None:
    telemetry = frame(
        {
            "DeviceId": '"ZAP000123"',
            "DeviceType": "4",
            "ChargerId": json.dumps(GUID.upper()),
            "StateId": "513",
            "Timestamp": '"2026-04-26T16:02:17.083Z"',
            "ValueAsString": '"7360.5"',
        }
    )
    seen = decode_canonical(wrap(telemetry), None)
    assert seen == Seen(GUID, "2026-04-26T16:02:17.083Z", None)
    assert type(seen) is Seen
    actionable = telemetry.replace(b'"StateId":513', b'"StateId":710').replace(b"7360.5", b"3")
    got = decode_canonical(wrap(actionable, 0x99), None)
    assert isinstance(got, Observation)
    assert (got.charger_id, got.state_id, got.value, got.serial) == (GUID, 710, "3", "ZAP000123")
    assert got == strict(wrap(actionable, 0x99))


def test_a_year_nobody_can_mean_says_so() -> None:
    years = ("0001-01-01T00:00:00", "0001-01-01T00:00:00+01:00", "0000-01-01T00:00:00")
    for stamp in (*years, "1999-12-31T23:59:59Z", "2101-01-01T00:00:00Z"):
        text = frame(
            {
                "DeviceId": '"ZAP000123"',
                "DeviceType": "4",
                "ChargerId": json.dumps(GUID),
                "StateId": "710",
                "Timestamp": json.dumps(stamp),
                "ValueAsString": '"3"',
            }
        )
        for body in (wrap(text), text):
            got = decode_body(body)
            assert isinstance(got, Rejection)
            assert got.code == "invalid_timestamp"
            assert "year outside 2000-2100" in got.detail, got.detail
    for stamp in ("x", "2026-02-30T00:00:00", "2026-04-26T25:00:00"):
        text = frame({"ChargerId": json.dumps(GUID), "StateId": "710", "Timestamp": f'"{stamp}"'})
        got = decode_body(wrap(text))
        assert isinstance(got, Rejection)
        assert (got.code, got.detail) == (
            "invalid_timestamp",
            f"Timestamp {stamp!r} is not ISO 8601",
        )
