"""Strict JSON for everything that comes from outside: one reading, whoever parses it.

RFC 8259 leaves duplicate object keys undefined, and parsers disagree on which one wins
(``{"ChargerId":"A",…,"ChargerId":"B"}`` is charger A to one, B to another). A message
that means two things to two readers must mean nothing to us, so a duplicate key refuses
it. orjson already refuses what strict JSON forbids (NaN and Infinity, numbers that
overflow a double, lone surrogates, invalid UTF-8, more than 1024 levels), and it is fast,
so it reads every text; duplicates are then ruled out by counting: without backslashes
every ``"`` in the text opens or closes a string token, so a text whose quote count is
exactly twice the strings of the parsed value (keys and string values) has no key that a
later one replaced. Only texts with escapes or a mismatch take the slow, exact check.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["DuplicateKey", "loads"]

_orjson = orjson.loads


class DuplicateKey(ValueError):
    """An object in the text names the same key twice."""


def loads(text: str | bytes) -> Any:
    """Parse strict JSON; ValueError (``DuplicateKey`` for a repeated key) otherwise."""
    value = _orjson(text)
    kind = type(value)
    if kind is dict or kind is list:
        if isinstance(text, str):
            suspect = "\\" in text or text.count('"') != 2 * _strings(value)
        else:
            suspect = b"\\" in text or text.count(b'"') != 2 * _strings(value)
        if suspect:
            _check_unique(text)
    return value


def _strings(value: Any) -> int:
    """String tokens a text needs to write ``value``: every key and every string value."""
    if type(value) is dict:  # the common case, a flat object, without the stack
        count = len(value)
        for item in value.values():
            kind = type(item)
            if kind is str:
                count += 1
            elif kind is dict or kind is list:
                count += _nested(item)
        return count
    return _nested(value)


def _nested(value: Any) -> int:
    count = 0
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            count += len(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            count += 1
    return count


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"duplicate key {key[:40]!r}")
            seen.add(key)
    return obj


def _check_unique(text: str | bytes) -> None:
    """The exact check (orjson has already accepted the text: only duplicates remain)."""
    try:
        json.loads(text, object_pairs_hook=_unique)
    except RecursionError:
        raise ValueError("nested too deep") from None
