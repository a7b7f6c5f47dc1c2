"""Strict OCPI 2.2.1 validation of a CDR, by two references nobody here wrote.

1. The PyPI package ``ocpi-types`` (generated from the OCPI 2.2.1 specification): the CDR
   must load into ``ocpi_types.v2_2_1.Cdr`` (required fields, JSON types, enum values)
   and dump back to exactly the same JSON, so no key is unknown to OCPI and nothing is
   dropped or coerced on the way.
2. ``data/ocpi_221_limits.json``: the string lengths, the DateTime form and the
   4-decimal number rule transcribed from the specification's asciidoc tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocpi_types import v2_2_1  # type: ignore[import-untyped]  # no py.typed

LIMITS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "ocpi_221_limits.json").read_text("utf-8")
)
# types.asciidoc DateTime: RFC 3339, UTC ("Z" or no designator), optional fraction
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?$")


def ocpi_problems(cdr: dict[str, Any]) -> list[str]:
    """Why ``cdr`` is not a strictly valid OCPI 2.2.1 CDR (empty: it is)."""
    found: list[str] = []
    try:
        model = v2_2_1.Cdr.from_dict(cdr)
    except (AssertionError, ValueError, TypeError, AttributeError) as exc:
        return [f"ocpi-types refuses it: {type(exc).__name__} {exc}"]
    dumped = model.to_dict()
    if dumped != cdr:
        found.append(f"not exactly OCPI: {sorted(_differences(cdr, dumped))[:5]}")
    for path, limit in LIMITS["strings"].items():
        for where, value in _values(cdr, path):
            if isinstance(value, str) and len(value) > limit:
                found.append(f"{where}: {len(value)} characters, OCPI allows {limit}")
    if not cdr.get("credit") and len(str(cdr.get("id", ""))) > LIMITS["normal_cdr_id_max"]:
        found.append("id: a normal (non-credit) CDR id is at most 36 characters")
    for path in LIMITS["datetime_paths"]:
        for where, value in _values(cdr, path):
            if not (isinstance(value, str) and len(value) <= 25 and _DATETIME.match(value)):
                found.append(f"{where}: {value!r} is not an OCPI DateTime")
    for where, number in _numbers(cdr, ""):
        exponent = Decimal(repr(number)).as_tuple().exponent
        if isinstance(exponent, int) and -exponent > LIMITS["number_decimals"]:
            found.append(f"{where}: {number!r} has more than 4 decimals")
    found += _credit_rule(cdr)
    return found


def _credit_rule(cdr: dict[str, Any]) -> list[str]:
    """mod_cdrs "Credit CDRs": only total_cost amounts are negative."""
    found = []
    for name, price in cdr.items():
        if not name.startswith("total_") or not isinstance(price, dict):
            continue
        for part, amount in price.items():
            negative = amount < 0
            if name != "total_cost" and negative:
                found.append(f"{name}.{part}: negative (only total_cost may be)")
            if name == "total_cost" and negative != bool(cdr.get("credit")) and amount != 0:
                found.append(f"{name}.{part}: sign does not match credit={cdr.get('credit')}")
    if cdr.get("credit") and not cdr.get("credit_reference_id"):
        found.append("credit without credit_reference_id")
    return found


def _values(node: Any, path: str, where: str = "") -> Iterator[tuple[str, Any]]:
    if not path:
        yield where, node
        return
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return
    child = node[key]
    if many:
        for i, item in enumerate(child or ()):
            yield from _values(item, rest, f"{where}{key}[{i}].")
    else:
        yield from _values(child, rest, f"{where}{key}" + ("." if rest else ""))


def _numbers(node: Any, where: str) -> Iterator[tuple[str, float | int]]:
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        yield where, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, f"{where}.{k}" if where else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numbers(v, f"{where}[{i}]")


def _differences(a: Any, b: Any, where: str = "") -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a.keys() | b.keys():
            if k not in b:
                yield f"{where}{k} (unknown to OCPI)"
            elif k not in a:
                yield f"{where}{k} (added)"
            else:
                yield from _differences(a[k], b[k], f"{where}{k}.")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, f"{where}[{i}].")
    elif a != b or type(a) is not type(b):
        yield f"{where.rstrip('.')}: {a!r} -> {b!r}"
