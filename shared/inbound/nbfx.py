"""MC-NBFX (.NET binary XML) reader for the DataContract string wrapper Zaptec sends.

A Zaptec Service Bus body is ``<string xmlns="…/Serialization/">{json}</string>`` written
by DataContractSerializer in binary XML (zaptec.md, "Decoding the body"). We need only the
root element's text, so this reads every record type a serializer can emit, skips
attributes and comments, concatenates text records and refuses what it cannot read with a
stable reason instead of guessing. The common shape takes a fast path: a prefix compare
and one slice.
"""

from __future__ import annotations

import struct

__all__ = ["HEADER", "NbfxError", "string_content"]

# The exact header .NET writes for a serialized string: ShortElement "string",
# ShortXmlnsAttribute with the DataContract serialization namespace.
HEADER = b"@\x06string\x083http://schemas.microsoft.com/2003/10/Serialization/"
_HEADER = HEADER
_HLEN = len(_HEADER)
_END = 0x01


class NbfxError(ValueError):
    """The body is not a binary-XML string we can read; ``code`` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def string_content(body: bytes) -> bytes:
    """UTF-8 text of the root element of an NBFX document (usually a JSON document)."""
    if body.startswith(_HEADER) and len(body) > _HLEN + 1:
        record = body[_HLEN]
        if record in (0x98, 0x99):  # Chars8Text / Chars8TextWithEndElement
            end = _HLEN + 2 + body[_HLEN + 1]
            tail = body[end:]
            # 0x99 must end the body exactly: a length byte beyond it is a lie (slicing
            # would quietly give what is there), for the reader to refuse.
            if (record == 0x98 and tail == b"\x01") or (record == 0x99 and end == len(body)):
                return body[_HLEN + 2 : end]
    return _Reader(body).root_text()


class _Reader:
    """Record-by-record reader over the whole MC-NBFX record set (text-bearing subset)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, code: str, detail: str) -> NbfxError:
        return NbfxError(code, f"{detail} at byte {self.pos}")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail("nbfx_truncated", f"record wants {n} bytes, body ends")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def mb31(self) -> int:
        """MultiByteInt31: 7 bits per byte, little end first, at most 5 bytes."""
        value = 0
        for shift in range(0, 35, 7):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
        raise self.fail("nbfx_malformed", "MultiByteInt31 longer than 5 bytes")

    def string(self) -> bytes:
        return self.take(self.mb31())

    def root_text(self) -> bytes:
        """The root's text. Strict about structure, because a text record whose declared
        length disagrees with its bytes leaves the reader inside the JSON: attributes
        only right after an element's start, and no element inside the string (a
        DataContract string holds only text), so the misread bytes are refused rather
        than spliced into a different JSON text."""
        depth = 0
        seen_root = False
        in_start = False  # right after an element record (or its attributes)
        parts: list[bytes] = []
        while self.pos < len(self.data):
            record = self.byte()
            if 0x04 <= record <= 0x3F:
                if not in_start:
                    raise self.fail("nbfx_malformed", "attribute outside an element's start")
                self.attribute(record)
                continue
            in_start = False
            if record == _END:
                if depth == 0:
                    raise self.fail("nbfx_malformed", "end element without an open element")
                depth -= 1
            elif record == 0x02:  # Comment
                self.string()
            elif 0x40 <= record <= 0x77:
                if seen_root:
                    what = "more than one root" if depth == 0 else "an element inside the string"
                    raise self.fail("nbfx_malformed", what)
                self.element_name(record)
                depth += 1
                seen_root = in_start = True
            elif 0x80 <= record <= 0xBD:
                if depth == 0:
                    raise self.fail("nbfx_malformed", "text outside the root element")
                parts.append(self.text(record & 0xFE))
                if record & 1:  # ...WithEndElement
                    depth -= 1
            else:
                raise self.fail("nbfx_unsupported_record", f"record type 0x{record:02X}")
        if not seen_root:
            raise NbfxError("nbfx_malformed", "no element in body")
        if depth:
            raise NbfxError("nbfx_truncated", f"{depth} element(s) not closed")
        return b"".join(parts)

    def element_name(self, record: int) -> None:
        if record == 0x40 or 0x5E <= record <= 0x77:  # ShortElement, PrefixElementA-Z
            self.string()
        elif record == 0x41:
            self.string()
            self.string()
        elif record == 0x43:
            self.string()
            self.mb31()
        else:  # 0x42 ShortDictionaryElement, 0x44-0x5D PrefixDictionaryElementA-Z
            self.mb31()

    def attribute(self, record: int) -> None:
        if record == 0x08:  # ShortXmlnsAttribute
            self.string()
            return
        if record == 0x09:  # XmlnsAttribute
            self.string()
            self.string()
            return
        if record == 0x0A:  # ShortDictionaryXmlnsAttribute
            self.mb31()
            return
        if record == 0x0B:  # DictionaryXmlnsAttribute
            self.string()
            self.mb31()
            return
        if record == 0x04 or 0x26 <= record <= 0x3F:  # ShortAttribute, PrefixAttributeA-Z
            self.string()
        elif record == 0x05:  # Attribute
            self.string()
            self.string()
        elif record == 0x07:  # DictionaryAttribute
            self.string()
            self.mb31()
        else:  # 0x06 ShortDictionaryAttribute, 0x0C-0x25 PrefixDictionaryAttributeA-Z
            self.mb31()
        value = self.byte()
        if not 0x80 <= value <= 0xBD or value & 1:
            raise self.fail("nbfx_malformed", f"attribute value record 0x{value:02X}")
        self.text(value)

    def text(self, record: int) -> bytes:
        if record == 0x98:
            return self.take(self.byte())
        if record == 0x9A:
            return self.take(struct.unpack("<H", self.take(2))[0])
        if record == 0x9C:
            return self.take(struct.unpack("<i", self.take(4))[0])
        if record in (0xB6, 0xB8, 0xBA):  # UnicodeChars8/16/32Text: UTF-16LE
            size = {0xB6: 1, 0xB8: 2, 0xBA: 4}[record]
            length = int.from_bytes(self.take(size), "little", signed=size == 4)
            raw = self.take(length)
            try:
                return raw.decode("utf-16-le").encode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.fail("nbfx_malformed", f"bad UTF-16 text: {exc.reason}") from exc
        if record == 0xA8:  # EmptyText
            return b""
        fixed = {0x80: b"0", 0x82: b"1", 0x84: b"false", 0x86: b"true"}
        if record in fixed:
            return fixed[record]
        ints = {0x88: "<b", 0x8A: "<h", 0x8C: "<i", 0x8E: "<q", 0xB2: "<Q"}
        if record in ints:
            fmt = ints[record]
            return str(struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]).encode()
        if record == 0xB4:  # BoolText
            return b"true" if self.byte() else b"false"
        raise self.fail("nbfx_unsupported_record", f"text record 0x{record:02X}")
