"""Seeded property tests of every parser a hostile input meets (issue 17): the JSON layer
against a strict reference built on CPython's own parser, the capture line splitter
against ``bytes.splitlines``, the NBFX reader with lengths that lie, the line decoder and
the configuration loader on arbitrary input."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.config.loader import ConfigError, load_config
from shared.inbound import capture
from shared.inbound.decode import decode_body, decode_line
from shared.inbound.nbfx import NbfxError, string_content
from shared.inbound.observations import Ignored, Observation, Rejection, Seen
from shared.inbound.strict_json import DuplicateKey, loads
from tests.fuzz.corpus import CODES, NBFX_HEADER

SEEDED = settings(
    derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class _Refused(ValueError):
    pass


def _reference(text: str) -> Any:
    """RFC 8259 read strictly by CPython's parser: unique keys, no NaN/Infinity, finite
    numbers, no lone surrogates; integers beyond 64 bits become floats, as orjson reads
    them (RFC 8259 section 6 leaves such numbers to the implementation)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise _Refused("duplicate")
        return dict(items)

    def constant(name: str) -> Any:
        raise _Refused(name)

    def number(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            raise _Refused("overflow")
        return value

    def integer(text: str) -> int | float:
        value = int(text)
        return value if -(2**63) <= value < 2**64 else float(value)

    value = json.loads(
        text,
        object_pairs_hook=pairs,
        parse_constant=constant,
        parse_float=number,
        parse_int=integer,
    )
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate raises here
    return value


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(st.tuples(st.sampled_from(["a", "b", "Ch\u00e6", '"', "\\"]), inner), max_size=4)
    ),
    max_leaves=12,
)


def _render(value: Any) -> str:
    """JSON text that may repeat keys (pairs lists are written as objects)."""
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return "{" + ",".join(f"{json.dumps(k)}:{_render(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(v) for v in value) + "]"
    return json.dumps(value)


_texts = st.one_of(
    _values.map(_render),
    st.text(alphabet='{}[]":,0123456789.eE-+ \\ntrufalsNI\u00e9ud8', max_size=30),
    st.sampled_from(
        [
            '{"a":1,"a":1}',
            '{"a":1,"\\u0061":2}',
            '{"a":NaN}',
            "[1e400]",
            '"\\ud800"',
            '{"a":"\\ud83d\\ude00"}',
            "[-0.0]",
            '{"":1,"":2}',
        ]
    ),
)


def _outcome(parse: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", parse(text)
    except (ValueError, RecursionError):
        return "refused", None


@SEEDED
@given(_texts)
def test_our_json_reads_exactly_what_a_strict_reference_reads(text: str) -> None:
    ours, theirs = _outcome(loads, text), _outcome(_reference, text)
    assert ours[0] == theirs[0], (text, ours, theirs)
    if ours[0] == "ok":
        assert json.dumps(ours[1], sort_keys=True) == json.dumps(theirs[1], sort_keys=True)


@SEEDED
@given(st.lists(st.sampled_from(["ChargerId", "StateId", "Timestamp"]), min_size=2, max_size=4))
def test_a_key_written_twice_is_refused_as_a_duplicate(keys: list[str]) -> None:
    text = "{" + ",".join(f'"{k}":{i}' for i, k in enumerate(keys)) + "}"
    if len(set(keys)) < len(keys):
        with pytest.raises(DuplicateKey):
            loads(text)
        assert isinstance(decode_line(text), Rejection)
    else:
        assert loads(text) == {k: i for i, k in enumerate(keys)}


@SEEDED
@given(
    st.lists(st.sampled_from([b"a", b"b", b"\n"]), max_size=80).map(b"".join),
    st.integers(1, 9),
    st.integers(1, 8),
)
@example(b"0123456789\n", 9, 4)
def test_capture_lines_split_as_splitlines_and_long_ones_are_only_counted(
    data: bytes, limit: int, block: int
) -> None:
    expected: list[tuple[bytes | int, int]] = []
    offset = 0
    for part in data.splitlines(keepends=True):
        offset += len(part)
        body = part.removesuffix(b"\n")
        expected.append((part if len(body) <= limit else len(part), offset))
    old = capture.BLOCK
    capture.BLOCK = block
    try:
        assert list(capture._lines(io.BytesIO(data), limit, "x")) == expected
    finally:
        capture.BLOCK = old


_payloads = st.text(min_size=2, max_size=300).map(lambda s: json.dumps({"ChargerId": s}))


@SEEDED
@given(_payloads, st.integers(-4, 4).filter(bool), st.sampled_from([0x98, 0x9A, 0x9C]))
def test_a_text_record_whose_length_lies_is_refused(payload: str, off: int, kind: int) -> None:
    data = payload.encode()
    size = {0x98: 1, 0x9A: 2, 0x9C: 4}[kind]
    declared = len(data) + off
    if not 0 <= declared < 256**size:
        return
    body = NBFX_HEADER + bytes([kind]) + declared.to_bytes(size, "little") + data + b"\x01"
    with pytest.raises(NbfxError):
        string_content(body)
    assert isinstance(decode_body(body), Rejection)


@SEEDED
@given(st.one_of(_texts, st.text(max_size=200)))
def test_any_line_decodes_to_something_with_a_stable_code(line: str) -> None:
    got = decode_line(line)
    assert isinstance(got, Observation | Seen | Ignored | Rejection)
    if isinstance(got, Rejection):
        assert got.code in CODES


_yaml = st.one_of(
    st.text(max_size=120),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.lists(
        st.sampled_from(
            [
                "targets:",
                "  a:",
                "    kind: webhook",
                "    url: ${U}",
                "routes: []",
                "version: 1",
                "version: 2",
                "&x [1]",
                "*x",
                "detection:",
                "  silence_after: [1]",
                "  silence_after: 5m",
                "- 1",
                "a: b: c",
                "\t",
                "<<: *x",
            ]
        ),
        max_size=8,
    ).map("\n".join),
)


@SEEDED
@given(_yaml)
def test_any_configuration_text_loads_or_is_a_config_error(text: str) -> None:
    try:
        load_config(text=text, env={"U": "https://example.com/x"})
    except ConfigError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("CHARGEOPS_CONFIG")
