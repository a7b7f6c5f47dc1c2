"""The uptime report: the outage ledger, the charger list and the config turned into
figures per charger, per site and for the fleet, a daily series per site (days of the
site's own zone, or of ``--tz``) and the list of outages.

Which chargers appear: every charger the state knows (seen by ingest, listed by the
registry, or in the ledger), so a charger without outages shows 100 %. Sites and names
come from the registry, else from the outages' events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from shared.config.loader import Config
from shared.consumers.uptime.exclusions import Excluder
from shared.consumers.uptime.ledger import OutageLedger
from shared.consumers.uptime.local import SITE, day_starts, zone
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
from shared.consumers.uptime.outage_list import OutageRow, outage_rows
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
    days: dict[str, list[SiteDay]]  # per site, one entry per local day of the window
    zones: dict[str, str]  # the zone each site's times are shown in ("" = no site)
    outages: list[OutageRow]  # counted outages in the window, oldest first
    time_zone: str = SITE  # --tz: "site" (each site's own) or one zone for all
    generated_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    def tz(self, site_id: str | None) -> tzinfo:
        return zone(self.zones.get(site_id or NO_SITE))

    def as_json(self) -> dict[str, Any]:
        """The ``--format json`` document (contract: from, to, method, chargers, sites;
        added: generated_at, time_zone, each site's time_zone, outages)."""
        return {
            "from": format_utc(self.since),
            "to": format_utc(self.until),
            "generated_at": format_utc(self.generated_at),
            "time_zone": self.time_zone,
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
                    "time_zone": self.zones.get(site, "UTC"),
                }
                for site, t in sorted(self.sites.items())
            ],
            "fleet": {"chargers": len(self.chargers), **_figures(self.fleet)},
            "outages": [o.as_json(self.tz(o.site_id)) for o in self.outages],
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
    tz: str = SITE,
    generated_at: datetime | None = None,
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
    return compute(
        config, list(known.values()), found, since, until, tz=tz, generated_at=generated_at
    )


def compute(
    config: Config,
    chargers: list[ChargerInfo],
    found: list[Outage],
    since: datetime,
    until: datetime,
    *,
    tz: str = SITE,
    generated_at: datetime | None = None,
) -> UptimeReport:
    """Figures from chargers and outages alone (pure). ``tz`` is ``site`` (each site's
    zone from the registry, UTC when unknown) or one zone name for every site."""
    counted = frozenset(config.uptime.outage_faults)
    by_charger: dict[str, list[Outage]] = defaultdict(list)
    for o in found:
        if o.cause != FAULT or o.detail in counted:
            by_charger[o.charger_id].append(o)
    charger_zones = {c.charger_id: c.time_zone for c in chargers}
    excluder = Excluder(config, since, until, charger_zones.get)
    rows = []
    for info in sorted(chargers, key=lambda c: (c.site_id or NO_SITE, c.charger_id)):
        mine = [_with_site(o, info.site_id) for o in by_charger[info.charger_id]]
        fig = charger_figures(info.charger_id, info.site_id, since, until, mine, excluder.covering)
        rows.append((info, fig))
    per_site: dict[str, list[ChargerFigures]] = defaultdict(list)
    names: dict[str, str | None] = {}
    zones: dict[str, str] = {}
    for info, fig in rows:
        per_site[info.site_id or NO_SITE].append(fig)
        names.setdefault(info.site_id or NO_SITE, info.site_name)
        if tz != SITE:
            zones[info.site_id or NO_SITE] = tz
        elif info.time_zone and zone(info.time_zone) is not UTC:
            zones.setdefault(info.site_id or NO_SITE, info.time_zone)
        else:
            zones.setdefault(info.site_id or NO_SITE, "UTC")
    series = {}
    for s, figs in per_site.items():
        starts = day_starts(since, until, zone(zones[s]))
        spans = zip(starts, [*starts[1:], until], strict=True)
        series[s] = [SiteDay(lo, _day_totals(figs, lo, hi)) for lo, hi in spans]
    listed = []
    for info, fig in rows:
        site_key = info.site_id or NO_SITE
        listed += outage_rows(
            fig,
            label=info.name or info.serial or info.charger_id,
            site_name=info.site_name,
            zone_name=zones[site_key],
            since=since,
            until=until,
        )
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
        zones=zones,
        outages=sorted(listed, key=lambda o: (o.start, o.charger, o.cause, o.detail)),
        time_zone=tz,
        generated_at=generated_at or datetime.now(UTC).replace(microsecond=0),
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
