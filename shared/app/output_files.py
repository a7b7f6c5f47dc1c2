"""Output files fed from store logs exactly once, even across SIGKILL.

Each file remembers (in the store) the last log seq it holds and its size at that point.
On open, a tail written after the last confirmation (a killed run) is cut off and
rewritten from the log, so every entry lands in the file exactly once.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared import json_text
from shared.storage.base import Store

__all__ = ["FileSink"]

_KIND = "sink"


class FileSink:
    """Appends entries of one log to one JSONL file."""

    def __init__(
        self,
        store: Store,
        log: str,
        path: Path,
        tally: Callable[[dict[str, Any]], str] = lambda value: str(value.get("type", "")),
    ) -> None:
        self.store, self.log, self.path = store, log, path.resolve()
        self._key = f"{log}|{self.path}"
        self._tally = tally
        self.written: Counter[str] = Counter()  # entries written by this process, by tally

    def check(self) -> str | None:
        """Why this file and the state disagree (None when they agree): a state with no
        record of a non-empty file it would append to (a new, emptied or other state:
        every event would be written twice), or one that says the file holds entries
        its log does not have (an older copy of the state)."""
        size = self.path.stat().st_size if self.path.exists() else 0
        entry = self.store.get(_KIND, self._key)
        if entry is None:
            if size and self.store.head(self.log) == 0:
                return f"{self.path} holds {size:,} bytes this state did not write"
            return None
        seq = int(entry.value["seq"])
        if seq > self.store.head(self.log):
            return f"{self.path} holds entries up to {seq:,}; the state's log ends before"
        return None

    def open(self) -> None:
        """Create or recover the file so it matches what the store says it holds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        entry = self.store.get(_KIND, self._key)
        if entry is None:  # a new file starts at the log's current end
            self._confirm(self.store.head(self.log), size)
            return
        offset = int(entry.value["offset"])
        if size > offset:
            with self.path.open("r+b") as f:
                f.truncate(offset)
        elif size < offset:  # shortened or deleted by someone: carry on from what is there
            self._confirm(int(entry.value["seq"]), size)

    def flush(self, page: int = 2000) -> int:
        """Write every log entry the file does not hold yet; returns how many."""
        entry = self.store.get(_KIND, self._key)
        seq = int(entry.value["seq"]) if entry else 0
        count = 0
        with self.path.open("ab") as f:
            while True:
                rows = self.store.read(self.log, seq, page)
                if not rows:
                    break
                f.write(b"".join(json_text.dumpb(value) + b"\n" for _, value in rows))
                seq = rows[-1][0]
                count += len(rows)
                self.written.update(self._tally(value) for _, value in rows)
            if count:  # nothing written, nothing to make durable
                f.flush()
                os.fsync(f.fileno())
            offset = f.tell()
        if count:
            self._confirm(seq, offset)
        return count

    def _confirm(self, seq: int, offset: int) -> None:
        self.store.put(_KIND, self._key, {"seq": seq, "offset": offset})
