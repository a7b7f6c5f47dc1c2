"""The counting proof in ``strict_json`` (quotes twice the parsed strings, no backslash)
never lets a repeated key through: every text built here repeats a key somewhere, in an
object at any depth, without escapes (the case the proof answers alone), and each must
be refused as ``DuplicateKey``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.inbound.strict_json import DuplicateKey, loads

SEEDED = settings(
    max_examples=500, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_keys = st.sampled_from(["a", "b", "ChargerId", "StateId", ""])
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-9, 9), st.text("xyz: ,{}[]", max_size=4)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(_keys, inner), max_size=3),
    max_leaves=8,
)


def _render(value: Any, space: str) -> str:
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        pairs = (f"{json.dumps(k)}{space}:{space}{_render(v, space)}" for k, v in value)
        return "{" + f",{space}".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(v, space) for v in value) + "]"
    return json.dumps(value)


@st.composite
def repeating(draw: st.DrawFn) -> str:
    """An object that names one key twice, placed somewhere in a larger value."""
    key = draw(_keys)
    pairs = draw(st.lists(st.tuples(_keys, _values), max_size=3))
    at = draw(st.integers(0, len(pairs)))
    twice = [*pairs[:at], (key, draw(_values)), *pairs[at:], (key, draw(_values))]
    inner: Any = draw(st.permutations(twice)) if draw(st.booleans()) else twice
    for _ in range(draw(st.integers(0, 3))):  # bury it
        inner = draw(st.sampled_from([[inner], [("k", inner)], [("k", 1), ("z", inner)]]))
    return _render(inner, draw(st.sampled_from(["", " ", "\n"])))


@SEEDED
@given(repeating())
def test_no_text_that_repeats_a_key_is_read(text: str) -> None:
    assert "\\" not in text
    with pytest.raises(DuplicateKey):
        loads(text)
    with pytest.raises(DuplicateKey):
        loads(text.encode())
