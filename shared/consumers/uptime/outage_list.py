"""The outage list: one row per counted outage in the window, for people who ask "which
outages, when, for how long, and was it excused" (NEVI's quarterly data asks for each
outage, not only the totals).

A row's ``minutes`` are the outage clipped to the window (an open one runs to the window's
end); ``excluded_minutes`` the part of those minutes the charger's exclusions cover
(silences, declared exclusions, closed hours). Overlapping outages each get a row, so
rows can add up to more than the charger's ``outage_minutes`` (the union); the totals are
in the charger rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from shared.consumers.uptime.intervals import clip, intersect, total, union
from shared.consumers.uptime.local import local_text
from shared.consumers.uptime.method import ChargerFigures, minutes
from shared.consumers.uptime.outages import FAULT
from shared.timestamps import format_utc

__all__ = ["OutageRow", "outage_rows"]


@dataclass(frozen=True)
class OutageRow:
    charger_id: str
    charger: str  # name, else serial, else id: what a person recognises
    site_id: str | None
    site: str | None
    start: datetime  # clipped to the window
    end: datetime  # clipped to the window
    still_open: bool  # the outage had not ended when the data ends
    minutes: float
    excluded_minutes: float
    cause: str  # offline | fault
    detail: str  # offline: is_online | silence; fault: its code
    time_zone: str  # the zone the local columns are in

    def as_json(self, tz: tzinfo) -> dict[str, Any]:
        return {
            "charger_id": self.charger_id,
            "charger": self.charger,
            "site_id": self.site_id,
            "site": self.site,
            "start": format_utc(self.start),
            "end": format_utc(self.end),
            "start_local": local_text(self.start, tz, seconds=True),
            "end_local": local_text(self.end, tz, seconds=True),
            "time_zone": self.time_zone,
            "open": self.still_open,
            "minutes": self.minutes,
            "excluded_minutes": self.excluded_minutes,
            "cause": self.cause,
            "detail": self.detail,
        }


def outage_rows(
    fig: ChargerFigures,
    *,
    label: str,
    site_name: str | None,
    zone_name: str,
    since: datetime,
    until: datetime,
) -> list[OutageRow]:
    """One charger's counted outages in the window, oldest first."""
    excluded = union(p for p, _ in fig.excluded)
    rows = []
    for o in fig.outages:
        span = clip([(o.start, o.end or until)], since, until)
        if not span:
            continue
        a, b = span[0]
        rows.append(
            OutageRow(
                charger_id=fig.charger_id,
                charger=label,
                site_id=fig.site_id,
                site=site_name,
                start=a,
                end=b,
                still_open=o.end is None,
                minutes=minutes(b - a),
                excluded_minutes=minutes(total(intersect([(a, b)], excluded))),
                cause="fault" if o.cause == FAULT else "offline",
                detail=o.detail,
                time_zone=zone_name,
            )
        )
    return rows
