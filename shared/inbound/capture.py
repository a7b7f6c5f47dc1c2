"""Capture files: JSON lines as ``chargeops replay`` reads them (a file, ``-`` for stdin,
``.gz`` accepted), one ``CaptureLine`` per non-blank line, with the bytes read so far for
progress reporting.

Read in blocks, never a line at a time: a 200 MB line (or a gzip bomb without a newline)
must not be held in memory to find out that it is too long. A line longer than
``MAX_LINE`` is skipped to its newline and becomes a ``line_too_long`` rejection, so
memory stays within a block plus one line's limit whatever the input is.
"""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from shared.inbound.decode import MAX_LINE
from shared.inbound.envelope import CaptureLine
from shared.inbound.observations import Rejection

__all__ = ["BLOCK", "InputError", "read_capture"]

BLOCK = 1 << 16  # bytes read (or decompressed) at a time


class InputError(ValueError):
    """The input cannot be read at all (missing file, not a file, corrupt gzip)."""


def read_capture(
    source: str, limit: int = MAX_LINE
) -> Iterator[tuple[int, CaptureLine | None, int]]:
    """(line number, the line or None when blank, bytes read so far)."""
    stream = _open(source)
    try:
        for lineno, (data, offset) in enumerate(_lines(stream, limit, source), start=1):
            if isinstance(data, int):
                bad = Rejection("line_too_long", f"{data} bytes (limit {limit})")
                yield lineno, CaptureLine(lineno, bad), offset
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = Rejection("invalid_utf8", f"byte {exc.start}: {exc.reason}")
                yield lineno, CaptureLine(lineno, bad), offset
                continue
            yield lineno, (CaptureLine(lineno, text) if text.strip() else None), offset
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _lines(stream: IO[bytes], limit: int, source: str) -> Iterator[tuple[bytes | int, int]]:
    """Each line's bytes (with its newline), or its length when longer than ``limit``,
    with the offset after it. Never holds more than ``limit + BLOCK`` bytes."""
    pending = bytearray()
    skipped = 0  # bytes of an overlong line thrown away so far (0: not skipping)
    offset = 0
    while True:
        block = _read(stream, source)
        if not block:
            break
        start = 0
        while True:
            nl = block.find(b"\n", start)
            if nl < 0:
                break
            offset += nl + 1 - start
            if skipped:
                yield skipped + nl + 1 - start, offset
                skipped = 0
            else:
                pending += block[start : nl + 1]
                yield (bytes(pending) if len(pending) <= limit + 1 else len(pending)), offset
                pending.clear()
            start = nl + 1
        rest = len(block) - start
        offset += rest
        if skipped:
            skipped += rest
        elif len(pending) + rest > limit + 1:
            skipped = len(pending) + rest
            pending.clear()
        else:
            pending += block[start:]
    if skipped:
        yield skipped, offset
    elif pending:
        yield (bytes(pending) if len(pending) <= limit else len(pending)), offset


def _read(stream: IO[bytes], source: str) -> bytes:
    try:
        return stream.read(BLOCK)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(f"INPUT {source}: cannot read ({exc})") from exc


def _open(source: str) -> IO[bytes]:
    if source == "-":
        return sys.stdin.buffer
    path = Path(source)
    if not path.exists():
        raise InputError(f"INPUT {source}: no such file")
    if not path.is_file():
        raise InputError(f"INPUT {source}: not a file")
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")
