"""Hostile capture lines, one class per way a line can lie (issue 17), each built from a
real line of the shipped sample day so that it names a real charger at a real time: if
any of them got through, it would change that charger's events.

``hostile(valid, rng, n)`` gives ``n`` lines per class; every one must be rejected with a
stable code (``CODES``). Deterministic for a seeded ``random.Random``.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.inbound.observations import ZERO_CHARGER
from shared.timestamps import format_utc, parse_utc

__all__ = ["CLASSES", "CODES", "Line", "hostile", "observations"]

Line = dict[str, Any]
NBFX_HEADER = b"@\x06string\x083http://schemas.microsoft.com/2003/10/Serialization/"

# What a hostile line may be rejected as: the decoder's and the state machine's codes.
CODES = frozenset(
    {
        "invalid_json",
        "not_an_object",
        "line_too_long",
        "invalid_utf8",
        "duplicate_key",
        "invalid_base64",
        "empty_body",
        "unknown_body_format",
        "invalid_json_body",
        "nbfx_truncated",
        "nbfx_malformed",
        "nbfx_unsupported_record",
        "missing_field",
        "invalid_state_id",
        "invalid_charger_id",
        "invalid_timestamp",
        "invalid_value",
        "invalid_completed_session",
        "timestamp_ahead",
    }
)


def observations(lines: list[str]) -> list[Line]:
    """The plain-JSON observation lines of a capture that name a charger and a time,
    parsed (envelopes and the sample's own bad lines are skipped)."""
    found: list[Line] = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(obj, dict)
            and {"StateId", "ChargerId", "Timestamp"} <= obj.keys()
            and obj["ChargerId"] != ZERO_CHARGER  # ignored, whatever the rest says
            and _time(obj["Timestamp"])
        ):
            found.append(obj)
    return found


def _time(stamp: object) -> bool:
    try:
        parse_utc(str(stamp))
    except ValueError:
        return False
    return True


def _dumps(obj: Line) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _with(obj: Line, **fields: Any) -> str:
    return _dumps({**obj, **fields})


def _duplicate(obj: Line, rng: random.Random) -> str:
    """A key written twice: parsers disagree on which one wins."""
    key = rng.choice(
        [k for k in ("ChargerId", "StateId", "Timestamp", "ValueAsString") if k in obj]
    )
    other = {
        "ChargerId": "00000000-0000-4000-8000-000000000001",
        "StateId": 804,
        "Timestamp": "2026-04-26T23:59:59Z",
        "ValueAsString": "4096",
    }[key]
    text = _dumps(obj)[:-1]
    spelled = rng.choice([key, key.replace("I", "\\u0049", 1)])  # the same key, escaped
    return f'{text},"{spelled}":{json.dumps(other)}}}'


def _state_id(obj: Line, rng: random.Random) -> str:
    bad: Any = rng.choice(
        [
            obj["StateId"] + 0.9,
            "\u0663",
            "\u0967\u0966",
            f" {obj['StateId']}",
            2**31,
            -(2**31) - 1,
            2**40,
            2**70,
            True,
            "0x2C6",
            "1_0",
            [obj["StateId"]],
            {"v": 1},
            "",
            None,
        ]
    )
    return (
        _with(obj, StateId=bad)
        if bad is not None
        else _dumps({k: v for k, v in obj.items() if k != "StateId"})
    )


def _shift(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)


def _timestamp(obj: Line, rng: random.Random) -> str:
    at = _shift(obj["Timestamp"]).replace(tzinfo=None)
    bad = rng.choice(
        [
            at.isoformat() + "+14:01",
            at.isoformat() + "-23:59",
            at.isoformat() + "+99:00",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59-05:00",
            "2101-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            at.isoformat()[:10],
            "2026-13-01T00:00:00Z",
            str(int(at.timestamp())),
            "",
        ]
    )
    if obj["StateId"] not in (-2, 553, 710, 721, 722, 723, 804):
        obj = {**obj, "StateId": 710, "ValueAsString": "3"}  # telemetry never says when
    return _with(obj, Timestamp=bad)


def _charger(obj: Line, rng: random.Random) -> str:
    bad = rng.choice(
        [
            "\u2603\u202e\u0000\u00e9vil",
            "x" * 10_000,
            obj["ChargerId"] + "0",
            obj["ChargerId"][:-1],
            obj["ChargerId"].replace("-", ""),
            42,
            "",
            "../../etc",
        ]
    )
    return _with(obj, ChargerId=bad)


def _number(obj: Line, rng: random.Random) -> str:
    """Values no charger measures, in the frames that carry numbers."""
    at = obj["Timestamp"]
    choice = rng.randrange(4)
    if choice == 0:
        return _with(
            obj,
            StateId=553,
            Timestamp=at,
            ValueAsString=rng.choice(
                ["1e30", "Infinity", "-Infinity", "NaN", "1e400", "-5", "100001"]
            ),
        )
    if choice == 1:
        return _with(
            obj,
            StateId=804,
            Timestamp=at,
            ValueAsString=rng.choice(
                ["0x" + "f" * 64, "0x" + "f" * 1024, "9" * 4000, "\u0663", "-1", "1.5", "0x"]
            ),
        )
    if choice == 2:
        energy = rng.choice(["1e30", "Infinity", "1e400", "-1", "NaN"])
        value = (
            '{"SessionId":"s-hostile","StartDateTime":"2026-04-26T09:00:00Z",'
            f'"EndDateTime":"2026-04-26T09:30:00Z","Energy":{energy}}}'
        )
        return _with(obj, StateId=723, Timestamp=at, ValueAsString=value)
    text = _with(obj, StateId=553, Timestamp=at, ValueAsString="@")  # then not JSON:
    return text.replace('"@"', rng.choice(["NaN", "Infinity", "1e400", "-Infinity"]))


def _oversized(obj: Line, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return _with(obj, StateId=721, ValueAsString="s" * 5000)
    return _with(obj, DeviceId=rng.choice(["Z" * 10_000, "ZAP\n001", "ZAP 001", "\u00e9"]))


def _structure(obj: Line, rng: random.Random) -> str:
    text = _dumps(obj)
    return rng.choice(
        [
            text[: rng.randrange(1, len(text))],
            "[" + text + "]",
            text + "}",
            text.replace('"ChargerId"', '"ChargerId\\ud800"'),
            '{"ChargerId":"\\ud800"}',
            "[" * 100_000 + "]" * 100_000,
            text.replace(":", "=", 1),
            "null",
            '"' + str(obj["ChargerId"]) + '"',
        ]
    )


def _nbfx_envelope(obj: Line, rng: random.Random) -> str:
    """The real wrapper with a Chars8/16 length that disagrees with the bytes after it."""
    payload = _dumps(obj).encode()
    if len(payload) < 256:
        body = NBFX_HEADER + b"\x98" + bytes([len(payload) + rng.choice([-3, -2, -1, 1, 2])])
    else:
        body = (
            NBFX_HEADER + b"\x9a" + (len(payload) + rng.choice([-2, -1, 1])).to_bytes(2, "little")
        )
    body += payload + b"\x01"
    return _dumps(
        {
            "body_base64": base64.b64encode(body).decode(),
            "message_id": None,
            "enqueued_time_utc": obj["Timestamp"],
        }
    )


def _envelope(obj: Line, rng: random.Random) -> str:
    payload = _dumps(obj).encode()
    body = base64.b64encode(NBFX_HEADER + b"\x98" + bytes([len(payload)]) + payload + b"\x01")
    good = {"body_base64": body.decode(), "message_id": "m", "enqueued_time_utc": obj["Timestamp"]}
    choice = rng.randrange(4)
    if choice == 0:
        return _with(good, enqueued_time_utc=rng.choice(["9999-12-31T23:59:59Z", "soon", 5]))
    if choice == 1:
        return _dumps(good)[:-1] + ',"body_base64":"e30="}'  # two bodies
    if choice == 2:
        return _with(good, body_base64=body.decode()[:-2] + "!!")
    return _with(good, body_base64="")


def _future(obj: Line, rng: random.Random) -> str:
    """One frame a year ahead of everything around it (a charger clock gone wrong)."""
    at = _shift(obj["Timestamp"]) + timedelta(days=rng.choice([30, 365, 3650]))
    return _with(obj, Timestamp=format_utc(at))


CLASSES: dict[str, Callable[[Line, random.Random], str]] = {
    "duplicate_key": _duplicate,
    "state_id": _state_id,
    "timestamp": _timestamp,
    "charger_id": _charger,
    "number": _number,
    "oversized": _oversized,
    "structure": _structure,
    "nbfx_length": _nbfx_envelope,
    "envelope": _envelope,
    "future": _future,
}


def hostile(valid: list[Line], rng: random.Random, n: int) -> Iterator[tuple[str, str]]:
    """``n`` (class, line) pairs per class, each from a random valid observation."""
    for name, build in CLASSES.items():
        for _ in range(n):
            yield name, build(rng.choice(valid), rng)
