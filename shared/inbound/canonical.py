"""The canonical Zaptec frame, recognised by one anchored pattern instead of parsed.

Nearly every body on the bus is the same shape: the NBFX string wrapper (Chars8Text)
around ``{"DeviceId":"…","DeviceType":N,"ChargerId":"GUID","StateId":N,"Timestamp":"…"``
and an optional ``"ValueAsString":"…"``, in that order, without whitespace or escapes.
Strict JSON parsing plus the duplicate-key proof cost more than the rest of decoding, so
this pattern matches the whole body, end to end, or nothing:

- every string is printable ASCII without ``"`` or ``\\``: no escape can spell a key
  twice, no invalid UTF-8 or control character or lone surrogate can hide in it;
- the key set and order are fixed in the pattern, so no key can repeat;
- numbers are JSON integers (no leading zero, no fraction, no exponent, no NaN), and
  at most 10 digits;
- the ChargerId is a GUID and the DeviceId a serial (``normalize``'s own forms);
- the NBFX length byte must equal the JSON's length (checked after the match), and the
  Chars8Text record must be followed by its EndElement, Chars8TextWithEndElement by
  nothing.

So a match is valid, duplicate-free JSON that ``strict_json`` would read to exactly these
fields, and ``decode_body`` gives the same result either way (tests/core/
test_canonical_frame.py proves it with hypothesis, and that nothing with a repeated key
matches). Anything else (whitespace, other keys or order, escapes, longer bodies in
Chars16Text, a StateId beyond 32 bits, the zero charger) returns None: the full strict
path decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from shared.inbound.nbfx import HEADER
from shared.inbound.normalize import observation
from shared.inbound.observations import ACTIONABLE, ZERO_CHARGER, Decoded, Seen

__all__ = ["decode_canonical", "with_shortcut"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class BodyDecoder(Protocol[T_co]):
    """What ``with_shortcut`` returns: ``decode_body``'s signature."""

    def __call__(self, body: bytes, received_at: datetime | None = None) -> T_co: ...


_HEX = rb"[0-9a-fA-F]"
_TEXT = rb"[\x20\x21\x23-\x5b\x5d-\x7e]"  # printable ASCII less '"' and '\'
_INT = rb"(-?(?:0|[1-9][0-9]{0,9}))"  # a JSON integer, at most 10 digits
_STAMP_KEY = b'"Timestamp":"'
# Possessive repeats (``{m,n}+``): a string ends at its first '"', nothing to try again.
_HEAD = (
    rb'\{"DeviceId":"([\x21\x23-\x5b\x5d-\x7e]{1,64}+)","DeviceType":' + _INT + rb','
    rb'"ChargerId":"(' + _HEX + rb"{8}-" + _HEX + rb"{4}-" + _HEX + rb"{4}-" + _HEX + rb"{4}-"
    + _HEX + rb'{12})","StateId":' + _INT + rb","
)  # fmt: skip
_TAIL = (
    rb'"Timestamp":"(' + _TEXT + rb'{0,64}+)"(?:,"ValueAsString":"(' + _TEXT + rb'{0,1024}+)")?\}'
)
# Group 1 is set for Chars8Text (0x98), which the EndElement record (0x01) must follow.
_FRAME = re.compile(
    re.escape(HEADER) + rb"(?:(\x98)|\x99)[\x00-\xff]" + _HEAD + _TAIL + rb"(?(1)\x01)\Z"
)
# The tail alone, after a head already proven (below), per record type.
_TAILS = {0x98: re.compile(_TAIL + rb"\x01\Z").match, 0x99: re.compile(_TAIL + rb"\Z").match}
# The length byte must be the JSON's length: for Chars8Text (0x98) the body is the header,
# record, length, JSON and EndElement; for 0x99 the same without the EndElement. So
# len(body) - length + record is this one number for both (the pattern fixed the tail).
_RECORD_AT = len(HEADER)
_LENGTH_AT = _RECORD_AT + 1
_JSON_AT = _RECORD_AT + 2
_CONSISTENT = _JSON_AT + 0x99

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_ZERO = ZERO_CHARGER.encode()
_MEMO = 16384
# Heads already proven by ``_FRAME`` (the JSON up to the first ``"Timestamp":"``) -> what
# they say: for telemetry the charger id as we key it, for an actionable id (charger,
# state id, serial, device type). A charger repeats the same head for each state id:
# serial, device type, charger and state id do not change, only the time and the value
# do. A body whose head is byte for byte a proven one needs only its tail matched; the
# head's GUID, the state id's range and whether anybody acts on it are known.
# Bounded (cleared when full).
_HEADS: dict[bytes, str | tuple[str, int, str, int | None]] = {}
_new = tuple.__new__  # a Seen without NamedTuple's Python-level __new__ (hot: most frames)


def with_shortcut(
    otherwise: Callable[[bytes, datetime | None], T],
) -> BodyDecoder[Decoded | T]:
    """A body decoder: the canonical frame decoded here, any other body by ``otherwise``
    (``decode.decode_body`` is ``with_shortcut(decode_strict)``). A closure rather than a
    call from ``decode_body``: one Python frame less on the path of every message."""

    def decode(body: bytes, received_at: datetime | None = None) -> Decoded | T:
        # Without the key, find() gives -1: the slice then runs to the last byte, and even
        # if that were a proven head, the tail is tried at 0 (re clamps -1), on the header.
        at = body.find(_STAMP_KEY, _JSON_AT)
        head = _HEADS.get(body[_JSON_AT:at])
        tail = _TAILS.get(body[_RECORD_AT]) if head and body.startswith(HEADER) else None
        found = None if tail is None else tail(body, at)
        if found is not None and len(body) - body[_LENGTH_AT] + body[_RECORD_AT] == _CONSISTENT:
            if type(head) is str:
                return _new(Seen, (head, found.group(1).decode(), received_at))
            stamp, value = found.groups()
            return _actionable(head, stamp, value, received_at)  # type: ignore[arg-type]
        whole = _whole(body, at, received_at)
        return otherwise(body, received_at) if whole is None else whole

    return decode


def _none(body: bytes, received_at: datetime | None) -> None:
    return None


decode_canonical = with_shortcut(_none)
"""The decoded frame when a body is a canonical NBFX-wrapped Zaptec frame, else None."""


def _whole(body: bytes, at: int, received_at: datetime | None) -> Decoded | None:
    """The whole body matched: a head not seen yet, or no frame."""
    match = _FRAME.match(body)
    if match is None or len(body) - body[_LENGTH_AT] + body[_RECORD_AT] != _CONSISTENT:
        return None  # not the usual frame, or a length byte that lies: the NBFX reader says
    _, serial, device_type, charger, state, stamp, value = match.groups()
    state_id = int(state)
    if not _INT32_MIN <= state_id <= _INT32_MAX or charger == _ZERO:
        return None  # refused, or ignored with its reason, by the strict path
    known = charger.decode().lower()
    head: str | tuple[str, int, str, int | None] = known
    if state_id in ACTIONABLE:
        kind = int(device_type)
        head = (
            known,
            state_id,
            serial.decode(),
            kind if _INT32_MIN <= kind <= _INT32_MAX else None,
        )
    # The key is what find() will give for the next body with this head. No quote can sit
    # in a value, so the first '"Timestamp":"' is the key's own; checked all the same: a
    # key shorter than its head would let a tail stand in for the rest of a head.
    if at == match.start(6) - len(_STAMP_KEY):
        if len(_HEADS) >= _MEMO:
            _HEADS.clear()
        _HEADS[body[_JSON_AT:at]] = head
    if type(head) is str:
        return Seen(known, stamp.decode(), received_at)
    return _actionable(head, stamp, value, received_at)  # type: ignore[arg-type]


def _actionable(
    head: tuple[str, int, str, int | None],
    stamp: bytes,
    value: bytes | None,
    received_at: datetime | None,
) -> Decoded:
    charger, state_id, serial, device_type = head
    text = None if value is None else value.decode()
    return observation(state_id, charger, stamp.decode(), text, serial, device_type, received_at)
