"""The NBFX reader against independently written bodies, real samples and garbage."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.inbound.nbfx import NbfxError, string_content
from tests.core import nbfx_writer as w

# The body quoted in zaptec.md (custom-components/zaptec tests/zaptec/test_misc.py).
REAL = (
    b"@\x06string\x083http://schemas.microsoft.com/2003/10/Serialization/\x98\xa5"
    b'{"DeviceId":"ZAP000000","DeviceType":4,"ChargerId":"00000000-0000-0000-0000-000000000000",'
    b'"StateId":523,"Timestamp":"2023-07-28T09:07:19.23","ValueAsString":"0.000"}\x01'
)


def test_the_real_zaptec_body_decodes() -> None:
    text = string_content(REAL)
    assert text.startswith(b'{"DeviceId":"ZAP000000"')
    assert text.endswith(b'"ValueAsString":"0.000"}')
    assert len(text) == 0xA5


def test_a_391_byte_body_uses_chars16() -> None:
    payload = '{"x":"' + "y" * 383 + '"}'
    assert len(payload) == 391
    body = w.element([(payload, "chars16")])
    assert body[61:64] == b"\x9a\x87\x01"  # the example in zaptec.md
    assert string_content(body) == payload.encode()


@pytest.mark.parametrize(
    "kind", ["chars8", "chars16", "chars32", "unicode8", "unicode16", "unicode32"]
)
@pytest.mark.parametrize("end_in_text", [False, True])
def test_every_text_record_kind(kind: str, end_in_text: bool) -> None:
    payload = '{"Name":"Ladestasjon Æøå ⚡"}'
    body = w.element([(payload, kind)], end_in_text=end_in_text)
    assert string_content(body).decode() == payload


@pytest.mark.parametrize("opener", ["short", "prefixed", "dictionary", "prefix-letter"])
def test_element_forms_comments_and_attributes(opener: str) -> None:
    body = w.element([('{"a":1}', "chars8")], opener=opener, comment=True, extra_attribute=True)
    assert string_content(body) == b'{"a":1}'


def test_text_split_over_several_records_is_joined() -> None:
    parts = [('{"a":', "chars8"), ('"b', "unicode16"), ("", "empty"), ('"}', "chars32")]
    assert string_content(w.element(parts)) == b'{"a":"b"}'


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (REAL[:-1], "nbfx_truncated"),
        (REAL[:70], "nbfx_truncated"),
        (b"\x40\x06string\x01\x01", "nbfx_malformed"),
        (b"\x98\x01a", "nbfx_malformed"),
        (b"\x40\x06string\xff", "nbfx_unsupported_record"),
        (b"\x40\x06string\x96" + b"\x00" * 8 + b"\x01", "nbfx_unsupported_record"),
        (b"\x40\x06string\x01\x40\x01x\x01", "nbfx_malformed"),
        (b"", "nbfx_malformed"),
    ],
)
def test_bad_bodies_are_refused_with_a_stable_code(body: bytes, code: str) -> None:
    with pytest.raises(NbfxError) as info:
        string_content(body)
    assert info.value.code == code


KINDS = st.sampled_from(["chars8", "chars16", "chars32", "unicode8", "unicode16", "unicode32"])


@given(
    st.lists(st.tuples(st.text(max_size=60), KINDS), min_size=1, max_size=5),
    st.sampled_from(["short", "prefixed", "dictionary", "prefix-letter"]),
    st.booleans(),
    st.booleans(),
)
def test_any_text_round_trips(
    parts: list[tuple[str, str]], opener: str, comment: bool, end_in_text: bool
) -> None:
    body = w.element(parts, opener=opener, comment=comment, end_in_text=end_in_text)
    assert string_content(body).decode() == "".join(p for p, _ in parts)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_nbfx_error(data: bytes) -> None:
    codes = {"nbfx_malformed", "nbfx_truncated", "nbfx_unsupported_record"}
    try:
        string_content(data)
    except NbfxError as exc:  # the only exception allowed out, with a known code
        code = exc.code
    else:
        code = "nbfx_malformed"
    assert code in codes


@given(st.binary(max_size=40), st.integers(min_value=0, max_value=len(REAL)))
def test_corrupted_real_bodies_never_escape(noise: bytes, at: int) -> None:
    with contextlib.suppress(NbfxError):  # any other exception fails the test
        string_content(REAL[:at] + noise + REAL[at:])
