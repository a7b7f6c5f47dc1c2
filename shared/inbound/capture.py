"""Capture files: JSON lines as ``chargeops replay`` reads them (a file, ``-`` for stdin,
``.gz`` accepted), one ``CaptureLine`` per non-blank line, with the bytes read so far for
progress reporting."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from shared.inbound.envelope import CaptureLine
from shared.inbound.observations import Rejection

__all__ = ["InputError", "read_capture"]


class InputError(ValueError):
    """The input cannot be read at all (missing file, not a file)."""


def read_capture(source: str) -> Iterator[tuple[int, CaptureLine | None, int]]:
    """(line number, the line or None when blank, bytes read so far)."""
    stream = _open(source)
    try:
        offset = 0
        for lineno, data in enumerate(stream, start=1):
            offset += len(data)
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
