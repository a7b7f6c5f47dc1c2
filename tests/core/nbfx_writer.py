"""A small MC-NBFX *writer* for tests: emits the record variants a .NET serializer can
produce for a string element, so the reader is tested against independent bytes."""

from __future__ import annotations

import struct

NS = "http://schemas.microsoft.com/2003/10/Serialization/"


def mb31(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def string(s: str) -> bytes:
    raw = s.encode()
    return mb31(len(raw)) + raw


def text_record(chunk: str, kind: str, *, with_end: bool = False) -> bytes:
    """One text record holding ``chunk`` (kinds: chars8/16/32, unicode8/16/32, empty)."""
    end = 1 if with_end else 0
    raw = chunk.encode()
    if kind == "chars8":
        return bytes([0x98 + end, len(raw)]) + raw
    if kind == "chars16":
        return bytes([0x9A + end]) + struct.pack("<H", len(raw)) + raw
    if kind == "chars32":
        return bytes([0x9C + end]) + struct.pack("<i", len(raw)) + raw
    wide = chunk.encode("utf-16-le")
    if kind == "unicode8":
        return bytes([0xB6 + end, len(wide)]) + wide
    if kind == "unicode16":
        return bytes([0xB8 + end]) + struct.pack("<H", len(wide)) + wide
    if kind == "unicode32":
        return bytes([0xBA + end]) + struct.pack("<i", len(wide)) + wide
    if kind == "empty":
        return bytes([0xA8 + end])
    raise ValueError(kind)


def element(
    parts: list[tuple[str, str]],
    *,
    opener: str = "short",
    comment: bool = False,
    extra_attribute: bool = False,
    end_in_text: bool = False,
) -> bytes:
    """``<string xmlns=NS>`` + text records + end, in several encodings."""
    if opener == "short":
        head = b"\x40" + string("string")
    elif opener == "prefixed":
        head = b"\x41" + string("a") + string("string")
    elif opener == "dictionary":
        head = b"\x42" + mb31(12)
    else:  # PrefixElementA-Z: 0x5E + letter index
        head = bytes([0x5E + 1]) + string("string")
    head += b"\x08" + string(NS)
    if extra_attribute:
        head += b"\x04" + string("lang") + text_record("en", "chars8")
    body = b"\x02" + string("a comment") if comment else b""
    for i, (chunk, kind) in enumerate(parts):
        last = i == len(parts) - 1
        body += text_record(chunk, kind, with_end=end_in_text and last)
    return head + body + (b"" if end_in_text and parts else b"\x01")
