"""A replay's data clock is the newest timestamp seen, so one frame dated far ahead (a
charger whose clock jumped to 2027 in a 2026 capture) would move time for every charger
at once: each would "go offline" by silence and sessions would be completed early, and
the clock, persisted in the state, would never come back.

``FutureGuard`` holds a frame dated more than ``JUMP`` past the newest time it has let
through until the next frame with a time says whether time really jumped: if that one is
far ahead too (a capture that continues after a gap, a new day's file on an old state),
both go on in order; if it is not, the held frame is refused as ``timestamp_ahead``. The
decision depends only on the input's order, never on how it is chunked, so a resumed run
decides exactly as the first did. A held frame the input never confirms is refused at its
end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.inbound.envelope import Inbound
from shared.inbound.observations import Decoded, Observation, Rejection, Seen
from shared.timestamps import format_utc, utc_second

__all__ = ["JUMP", "FutureGuard"]

JUMP = timedelta(hours=6)  # far more than a capture's gaps between two frames, far less than a year


class FutureGuard:
    """Screens decoded input in order; carries at most one held frame between batches."""

    def __init__(self, newest: datetime | None, jump: timedelta = JUMP) -> None:
        self.newest = newest  # the newest time let through (the state's clock at start)
        self.jump = jump
        self._held: tuple[Inbound, Decoded, datetime] | None = None

    def screen(
        self, batch: Sequence[Inbound], decoded: Sequence[Decoded]
    ) -> tuple[list[Inbound], list[Decoded]]:
        """The batch as it should be fed: held frames out, confirmed ones back in."""
        out_batch: list[Inbound] = []
        out_decoded: list[Decoded] = []
        for message, item in zip(batch, decoded, strict=True):
            at = _time_of(item)
            if at is not None:
                if self._held is not None:
                    confirmed = at > self._limit()
                    self._release(out_batch, out_decoded, accept=confirmed)
                if self.newest is not None and at > self._limit():
                    self._held = (message, item, at)
                    continue
                if self.newest is None or at > self.newest:
                    self.newest = at
            out_batch.append(message)
            out_decoded.append(item)
        return out_batch, out_decoded

    def finish(self) -> tuple[list[Inbound], list[Decoded]]:
        """End of input: a frame still held was never confirmed, so it is refused."""
        batch: list[Inbound] = []
        decoded: list[Decoded] = []
        if self._held is not None:
            self._release(batch, decoded, accept=False)
        return batch, decoded

    def _limit(self) -> datetime:
        assert self.newest is not None
        return self.newest + self.jump

    def _release(self, batch: list[Inbound], decoded: list[Decoded], *, accept: bool) -> None:
        assert self._held is not None
        message, item, at = self._held
        self._held = None
        batch.append(message)
        if accept:
            decoded.append(item)
            self.newest = at
            return
        ahead = (at - self.newest) if self.newest is not None else timedelta(0)
        decoded.append(
            Rejection(
                "timestamp_ahead",
                f"{format_utc(at)} is {ahead.total_seconds() / 3600:,.0f} h past the capture's "
                f"time ({format_utc(self.newest) if self.newest else '-'}) and the next "
                "frame did not confirm the jump",
            )
        )


def _time_of(item: Decoded) -> datetime | None:
    """The time a frame would move the data clock to (as ``Ingest.feed`` reads it)."""
    if isinstance(item, Observation):
        return item.received_at or item.timestamp
    if isinstance(item, Seen):
        if item.received_at is not None:
            return item.received_at
        return utc_second(item.stamp) if item.stamp else None
    return None
