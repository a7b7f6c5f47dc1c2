"""Table keys: what Azure accepts, unique, and prefix-preserving (``scan`` relies on it)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.storage.table import decode_key, encode_key

FORBIDDEN = set("/\\#?") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}
# short enough that even two of them, fully escaped (12 characters per code point), stay
# under the length at which a key is cut and hashed
KEYS = st.text(max_size=19) | st.text(alphabet="/#?~%'ab\\é", max_size=19)


@given(KEYS)
def test_encoded_keys_are_acceptable_and_decode_back(key: str) -> None:
    encoded = encode_key(key)
    assert not set(encoded) & FORBIDDEN
    assert encoded.isascii()
    assert decode_key(encoded) == key


@given(KEYS, KEYS)
def test_encoding_is_prefix_preserving_and_injective(a: str, b: str) -> None:
    assert encode_key(a + b).startswith(encode_key(a))
    if a != b:
        assert encode_key(a) != encode_key(b)


@given(st.text(min_size=600, max_size=900))
def test_long_keys_are_cut_with_a_hash_and_stay_unique(key: str) -> None:
    encoded = encode_key(key)
    assert len(encoded) <= 480
    assert encode_key(key + "x") != encoded
