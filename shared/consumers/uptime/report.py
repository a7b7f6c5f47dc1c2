"""The uptime report: the outage ledger, the charger list and the config turned into
figures per charger, per site and for the fleet, plus a daily series per site.

Which chargers appear: every charger the state knows (seen by ingest, listed by the
registry, or in the ledger), so a charger without outages shows 100 %. Sites and names
come from the registry, else from the outages' events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.config.loader import Config
from shared.consumers.uptime.exclusions import Excluder
from shared.consumers.uptime.ledger import OutageLedger
from shared.consumers.uptime.method import (
    FORMULA,
    METHOD,
    ChargerFigures,
    Totals,
    charger_figures,
    down_in,
    minutes,
    sum_totals,
)
from shared.consumers.uptime.outages import FAULT, Outage
from shared.registry.repo import RegistryRecords
from shared.storage.base import Store
from shared.storage.charger_states import ChargerStates
from shared.timestamps import format_utc

__all__ = ["ChargerInfo", "SiteDay", "UptimeReport", "build_report", "compute", "known_chargers"]

NO_SITE = ""  # group key of chargers whose site is unknown (``site_id: null``)


@dataclass(frozen=True)
class ChargerInfo:
    charger_id: str
    site_id: str | None = None
    serial: str | None = None
    name: str | None = None
    site_name: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class SiteDay:
    day: datetime
    totals: Totals


@dataclass(frozen=True)
class UptimeReport:
    since: datetime
    until: datetime
    outage_faults: tuple[str, ...]
    target_percent: float
    chargers: list[tuple[ChargerInfo, ChargerFigures]]
    sites: dict[str, Totals]  # by site id ("" = unknown site)
    site_names: dict[str, str | None]
    fleet: Totals
    days: dict[str, list[SiteDay]]  # per site, one entry per UTC day of the window

    def as_json(self) -> dict[str, Any]:
        """The ``--format json`` document (contract: from, to, method, chargers, sites)."""
        return {
            "from": format_utc(self.since),
            "to": format_utc(self.until),
            "method": METHOD,
            "formula": FORMULA,
            "unit": "minutes",
            "outage_faults": list(self.outage_faults),
            "target_percent": self.target_percent,
            "chargers": [
                {
                    "charger_id": info.charger_id,
                    "serial": info.serial,
                    "name": info.name,
                    "site_id": info.site_id,
                    **_figures(fig.totals),
                    "exclusions": [
                        {"reason": why, "planned": planned, "minutes": minutes(spent)}
                        for (why, planned), spent in fig.reasons.items()
                    ],
                }
                for info, fig in self.chargers
            ],
            "sites": [
                {
                    "site_id": site or None,
                    "site_name": self.site_names.get(site),
                    "chargers": sum(1 for i, _ in self.chargers if (i.site_id or NO_SITE) == site),
                    **_figures(t),
                    "below_target": t.uptime_percent < self.target_percent,
                }
                for site, t in sorted(self.sites.items())
            ],
            "fleet": {"chargers": len(self.chargers), **_figures(self.fleet)},
        }


def _figures(t: Totals) -> dict[str, Any]:
    return {
        "uptime_percent": t.uptime_percent,
        "outage_minutes": minutes(t.outage),
        "excluded_minutes": minutes(t.excluded),
        "outage_count": t.count,
        "longest_outage_minutes": minutes(t.longest),
        "window_minutes": minutes(t.window),
    }


def build_report(
    config: Config,
    store: Store,
    since: datetime,
    until: datetime,
    *,
    site: str | None = None,
    catch_up: bool = True,
) -> UptimeReport:
    """Bring the ledger level with the event log (unless told not to), then compute."""
    ledger = OutageLedger(store)
    if catch_up:
        ledger.catch_up()
    known = known_chargers(store)
    found = []
    for o in ledger.outages():  # chargers known only through their outages count too
        if o.start < until and (o.end is None or o.end > since):
            found.append(o)
        if o.charger_id not in known:
            known[o.charger_id] = ChargerInfo(o.charger_id, o.site_id)
        elif known[o.charger_id].site_id is None and o.site_id:
            info = known[o.charger_id]
            known[o.charger_id] = ChargerInfo(
                info.charger_id, o.site_id, info.serial, info.name, None, info.time_zone
            )
    if site is not None:
        known = {k: v for k, v in known.items() if v.site_id == site}
    return compute(config, list(known.values()), found, since, until)


def compute(
    config: Config,
    chargers: list[ChargerInfo],
    found: list[Outage],
    since: datetime,
    until: datetime,
) -> UptimeReport:
    """Figures from chargers and outages alone (pure)."""
    counted = frozenset(config.uptime.outage_faults)
    by_charger: dict[str, list[Outage]] = defaultdict(list)
    for o in found:
        if o.cause != FAULT or o.detail in counted:
            by_charger[o.charger_id].append(o)
    zones = {c.charger_id: c.time_zone for c in chargers}
    excluder = Excluder(config, since, until, zones.get)
    rows = []
    for info in sorted(chargers, key=lambda c: (c.site_id or NO_SITE, c.charger_id)):
        mine = [_with_site(o, info.site_id) for o in by_charger[info.charger_id]]
        fig = charger_figures(info.charger_id, info.site_id, since, until, mine, excluder.covering)
        rows.append((info, fig))
    per_site: dict[str, list[ChargerFigures]] = defaultdict(list)
    names: dict[str, str | None] = {}
    for info, fig in rows:
        per_site[info.site_id or NO_SITE].append(fig)
        names.setdefault(info.site_id or NO_SITE, info.site_name)
    starts = _day_starts(since, until)
    spans = list(zip(starts, [*starts[1:], until], strict=True))
    series = {
        s: [SiteDay(lo, _day_totals(figs, lo, hi)) for lo, hi in spans]
        for s, figs in per_site.items()
    }
    return UptimeReport(
        since=since,
        until=until,
        outage_faults=tuple(config.uptime.outage_faults),
        target_percent=config.uptime.target_percent,
        chargers=rows,
        sites={s: sum_totals(f.totals for f in figs) for s, figs in per_site.items()},
        site_names=names,
        fleet=sum_totals(f.totals for _, f in rows),
        days=series,
    )


def _with_site(o: Outage, site_id: str | None) -> Outage:
    """An outage whose event had no site gets the charger's (registry) site, so site
    silences and exclusions still apply."""
    if o.site_id or not site_id:
        return o
    return Outage(o.charger_id, o.cause, o.detail, o.start, o.end, site_id, o.bit, o.severity)


def _day_totals(figs: list[ChargerFigures], lo: datetime, hi: datetime) -> Totals:
    down = sum((down_in(f, lo, hi) for f in figs), timedelta(0))
    window = (hi - lo) * len(figs)
    return Totals(window, down, timedelta(0), 0, timedelta(0))


def _day_starts(since: datetime, until: datetime) -> list[datetime]:
    """UTC day boundaries covering the window (the first may start mid-day)."""
    out, day = [since], since.replace(hour=0, minute=0, second=0, microsecond=0)
    day += timedelta(days=1)
    while day < until:
        out.append(day)
        day += timedelta(days=1)
    return out


def known_chargers(store: Store) -> dict[str, ChargerInfo]:
    """Every charger ingest has seen or the registry lists, with registry details."""
    known: dict[str, ChargerInfo] = {}
    for key, state in _seen_by_ingest(store):
        known[key] = ChargerInfo(key, serial=state.get("serial"))
    for key, v in RegistryRecords(store).chargers():
        known[key] = ChargerInfo(
            key,
            site_id=v.get("site_id"),
            serial=v.get("serial") or (known[key].serial if key in known else None),
            name=v.get("name"),
            site_name=v.get("site_name"),
            time_zone=v.get("time_zone"),
        )
    return known


def _seen_by_ingest(store: Store) -> Iterator[tuple[str, dict[str, Any]]]:
    """Chargers ingest has a state for (known to the fleet even before the registry)."""
    for key, entry in ChargerStates(store).all():
        yield key, entry.value
