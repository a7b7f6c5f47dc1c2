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
from datetime import datetime

from shared.inbound.nbfx import HEADER
from shared.inbound.normalize import observation
from shared.inbound.observations import ACTIONABLE, ZERO_CHARGER, Decoded, Seen

__all__ = ["decode_canonical"]

_HEX = rb"[0-9a-fA-F]"
_TEXT = rb"[\x20\x21\x23-\x5b\x5d-\x7e]"  # printable ASCII less '"' and '\'
_INT = rb"(-?(?:0|[1-9][0-9]{0,9}))"  # a JSON integer, at most 10 digits
_JSON = (
    rb'\{"DeviceId":"([\x21\x23-\x5b\x5d-\x7e]{1,64})","DeviceType":' + _INT + rb","
    rb'"ChargerId":"(' + _HEX + rb"{8}-" + _HEX + rb"{4}-" + _HEX + rb"{4}-" + _HEX + rb"{4}-"
    + _HEX + rb'{12})","StateId":' + _INT + rb',"Timestamp":"(' + _TEXT + rb'{0,64})"'
    rb'(?:,"ValueAsString":"(' + _TEXT + rb'{0,1024})")?\}'
)  # fmt: skip
# Group 1 is set for Chars8Text (0x98), which the EndElement record (0x01) must follow.
_FRAME = re.compile(re.escape(HEADER) + rb"(?:(\x98)|\x99)[\x00-\xff]" + _JSON + rb"(?(1)\x01)\Z")
# The length byte must be the JSON's length: for Chars8Text (0x98) the body is the header,
# record, length, JSON and EndElement; for 0x99 the same without the EndElement. So
# len(body) - length + record is this one number for both (the pattern fixed the tail).
_RECORD_AT = len(HEADER)
_LENGTH_AT = _RECORD_AT + 1
_CONSISTENT = len(HEADER) + 2 + 0x99

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_ZERO = ZERO_CHARGER.encode()
_MEMO = 8192
_CHARGERS: dict[bytes, str] = {}  # charger id as sent -> as we key it (lower case)
_new = tuple.__new__  # a Seen without NamedTuple's Python-level __new__ (hot: most frames)


def decode_canonical(body: bytes, received_at: datetime | None) -> Decoded | None:
    """The decoded frame when ``body`` is a canonical NBFX-wrapped Zaptec frame, else None
    (then only the full strict path may say what it is)."""
    match = _FRAME.match(body)
    if match is None or len(body) - body[_LENGTH_AT] + body[_RECORD_AT] != _CONSISTENT:
        return None  # not the usual frame, or a length byte that lies: the NBFX reader says
    charger, state, stamp = match.group(4, 5, 6)
    state_id = int(state)
    known = _CHARGERS.get(charger)
    if known is None:
        if charger == _ZERO:
            return None  # ignored by the strict path, with its reason
        if len(_CHARGERS) >= _MEMO:
            _CHARGERS.clear()
        known = _CHARGERS[charger] = charger.decode("ascii").lower()
    if state_id not in ACTIONABLE:
        if _INT32_MIN <= state_id <= _INT32_MAX:
            return _new(Seen, (known, stamp.decode("ascii"), received_at))
        return None
    _, serial, device_type, _, _, _, value = match.groups()
    kind = int(device_type)
    return observation(
        state_id,
        known,
        stamp.decode("ascii"),
        None if value is None else value.decode("ascii"),
        serial.decode("ascii"),
        kind if _INT32_MIN <= kind <= _INT32_MAX else None,
        received_at,
    )
