"""Compact JSON text as the standard library writes it, at orjson's speed.

A replay encodes a value for every record it stores (charger states, ledger entries,
delivery log lines: about 20 per consumed event) and for every webhook body it sends;
orjson does it several times faster than ``json``. The text is the standard library's
compact form (``separators=(",", ":")``, ``ensure_ascii=False``), so a state written by an
earlier version reads the same, a value reads back equal and a signed body is what
``json.dumps`` would have made of the event.

Where orjson would write something the standard library refuses or writes differently,
the standard library decides: a dataclass, a datetime or a subclass of str, int, dict or
list (passed through orjson to fail), a key that is not a string, an integer beyond 64
bits, a lone surrogate. One case cannot be routed that way: orjson writes NaN and the
infinities as ``null`` where the standard library writes ``NaN``. No value here holds
one: every edge refuses them before a value is made (strict JSON on the bus, config and
capture). ``tests/core/test_json_text.py`` checks both ways, on a replay's whole state too.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumpb", "dumps", "loads"]

_STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_PASS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dumps(value: Any) -> str:
    """Compact JSON text for ``value``, as ``json.dumps`` would write it."""
    try:
        return orjson.dumps(value, option=_PASS).decode()
    except TypeError:  # orjson.JSONEncodeError is one: the standard library decides
        return _STDLIB(value)


def dumpb(value: Any) -> bytes:
    """``dumps`` as UTF-8 bytes (a request body), without a decode and an encode."""
    try:
        return orjson.dumps(value, option=_PASS)
    except TypeError:
        return _STDLIB(value).encode()


def loads(text: str | bytes) -> Any:
    """The value of JSON text; the standard library reads what orjson refuses (a ``NaN``
    an older version may have stored)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
