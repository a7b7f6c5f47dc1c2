"""The uptime report as one self-contained HTML page (inline CSS, JS and SVG; nothing
fetched), for people who want to see availability rather than read it.

Tables are written here, so the figures read with scripts off (mail clients, archives).
The charts (daily availability per site, an outage timeline per charger) are drawn by
the page's script from the embedded data, so the page stays small for large fleets; the
script marks ``<body data-rendered="ok">`` when done, or ``data-error`` when it fails.

For people: times are local (each site's zone, or ``--tz``) and say which zone; below
target is written in words as well as coloured; numbers carry thousands separators; a
large fleet shows its ``top`` worst chargers and longest outages with a row for the rest.
Axis ticks are computed here (hours on a short window), so the script only draws.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import Any

from shared.consumers.uptime.intervals import intersect
from shared.consumers.uptime.local import SITE, local_text, ticks, zone
from shared.consumers.uptime.method import ChargerFigures, minutes
from shared.consumers.uptime.page import CSS, PAGE, SCRIPT
from shared.consumers.uptime.report import ChargerInfo, UptimeReport

__all__ = ["as_html"]


def as_html(report: UptimeReport, *, title: str = "Charger uptime", top: int = 50) -> str:
    doc = report.as_json()
    data = _chart_data(report, top)
    names: dict[str | None, str] = {s["site_id"]: _site_label(s) for s in doc["sites"]}
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    fleet = doc["fleet"]
    target = report.target_percent
    below = sum(1 for c in doc["chargers"] if c["uptime_percent"] < target)
    period = f"{escape(doc['from'])} – {escape(doc['to'])}"
    ranked = sorted(doc["chargers"], key=lambda c: (c["uptime_percent"], c["charger_id"]))
    shown = ranked[:top] if top > 0 else ranked
    rows = [_charger_row(c, target, names) for c in sorted(shown, key=lambda c: _order(c, names))]
    if len(shown) < len(ranked):
        rows.append(_rest_row(ranked[len(shown) :], target))
    return PAGE.format(
        title=escape(title),
        period=period,
        zones=escape(_zones_text(report)),
        generated=escape(local_text(report.generated_at, UTC)),
        method=escape(f"{doc['method']}: {doc['formula']}"),
        faults=escape(", ".join(doc["outage_faults"]) or "none (offline periods only)"),
        fleet_uptime=f"{fleet['uptime_percent']:,.3f}",
        chargers=f"{fleet['chargers']:,}",
        sites=f"{len(doc['sites']):,}",
        below=f"{below:,}",
        target=f"{target:g}",
        outage=f"{fleet['outage_minutes']:,.1f}",
        excluded=f"{fleet['excluded_minutes']:,.1f}",
        site_rows="\n".join(_site_row(s, target) for s in sorted(doc["sites"], key=_site_order)),
        charger_note=escape(_shown_note(len(shown), len(ranked), "worst chargers")),
        site_note=escape(_site_note(len(data["sites"]), len(report.days))),
        charger_rows="\n".join(rows),
        outage_note=escape(_outage_note(doc["outages"], top)),
        outage_rows="\n".join(_outage_row(o) for o in _longest(doc["outages"], top)),
        css=CSS,
        script=SCRIPT,
        data=blob,
    )


def _zones_text(report: UptimeReport) -> str:
    if report.time_zone != SITE:
        return report.time_zone
    used = sorted(set(report.zones.values()))
    return "each site's zone (" + ", ".join(used) + ")" if used else "UTC"


def _site_label(s: dict[str, Any]) -> str:
    return "(no site)" if s["site_id"] is None else str(s["site_name"] or s["site_id"])


def _site_order(s: dict[str, Any]) -> tuple[Any, str]:
    return (_natural(_site_label(s)), s["site_id"] or "")


def _order(c: dict[str, Any], names: dict[str | None, str]) -> tuple[Any, ...]:
    return (names.get(c["site_id"], ""), _natural(c["name"] or c["serial"] or c["charger_id"]))


def _status(below: bool) -> str:
    """Below target in words (and a class for colour): colour alone is not enough."""
    return (
        '<td class="status below-mark">below target</td>' if below else '<td class="status">ok</td>'
    )


def _site_row(s: dict[str, Any], target: float) -> str:
    cls = ' class="below"' if s["below_target"] else ""
    return (
        f'<tr{cls} data-site="{escape(s["site_id"] or "")}"><td>{escape(_site_label(s))}</td>'
        f'<td class="num" data-v="{s["chargers"]}">{s["chargers"]:,}</td>{_figure_cells(s)}'
        f"{_status(s['below_target'])}</tr>"
    )


def _charger_row(c: dict[str, Any], target: float, names: dict[str | None, str]) -> str:
    label = c["name"] or c["serial"] or c["charger_id"]
    below = c["uptime_percent"] < target
    cls = ' class="below"' if below else ""
    return (
        f'<tr{cls} data-charger="{escape(c["charger_id"])}">'
        f'<td title="{escape(c["charger_id"])}">{escape(label)}</td>'
        f"<td>{escape(names.get(c['site_id'], ''))}</td>{_figure_cells(c)}{_status(below)}</tr>"
    )


def _rest_row(rest: list[dict[str, Any]], target: float) -> str:
    """The chargers not listed, summed as a site is (port-weighted), so nothing is hidden."""
    window = sum(c["window_minutes"] for c in rest)
    outage = sum(c["outage_minutes"] for c in rest)
    excluded = sum(c["excluded_minutes"] for c in rest)
    row = {
        "uptime_percent": (window - (outage - excluded)) / window * 100 if window else 100.0,
        "outage_minutes": outage,
        "excluded_minutes": excluded,
        "outage_count": sum(c["outage_count"] for c in rest),
        "longest_outage_minutes": max(c["longest_outage_minutes"] for c in rest),
    }
    below = sum(1 for c in rest if c["uptime_percent"] < target)
    return (
        f'<tr class="rest" id="chargers-rest"><td>{len(rest):,} more chargers</td><td></td>'
        f'{_figure_cells(row)}<td class="status">{below:,} below target</td></tr>'
    )


def _figure_cells(row: dict[str, Any]) -> str:
    cells = (
        ("uptime_percent", f"{row['uptime_percent']:,.3f}"),
        ("outage_minutes", f"{row['outage_minutes']:,.1f}"),
        ("excluded_minutes", f"{row['excluded_minutes']:,.1f}"),
        ("outage_count", f"{row['outage_count']:,}"),
        ("longest_outage_minutes", f"{row['longest_outage_minutes']:,.1f}"),
    )
    return "".join(
        f'<td class="num" data-key="{key}" data-v="{row[key]}">{text}</td>' for key, text in cells
    )


def _longest(outages: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    ranked = sorted(outages, key=lambda o: (-o["minutes"], o["start"], o["charger"]))
    return ranked[:top] if top > 0 else ranked


def _outage_row(o: dict[str, Any]) -> str:
    end = escape(o["end_local"]) + (" (still open)" if o["open"] else "")
    return (
        f'<tr data-outage="{escape(o["charger_id"])}"><td>{escape(o["charger"])}</td>'
        f"<td>{escape(o['site'] or o['site_id'] or '')}</td>"
        f'<td title="{escape(o["start"])}">{escape(o["start_local"])}</td>'
        f'<td title="{escape(o["end"])}">{end}</td>'
        f'<td class="num" data-v="{o["minutes"]}">{o["minutes"]:,.1f}</td>'
        f'<td class="num" data-v="{o["excluded_minutes"]}">{o["excluded_minutes"]:,.1f}</td>'
        f"<td>{escape(o['cause'])}: {escape(o['detail'])}</td></tr>"
    )


def _site_note(shown: int, total: int) -> str:
    if shown >= total:
        return ""
    return f"The {shown:,} sites with the lowest uptime of {total:,} (all are in the table below)."


def _shown_note(shown: int, total: int, what: str) -> str:
    if shown >= total:
        return f"All {total:,}."
    return f"The {shown:,} {what} of {total:,}, and one row summing the rest (--top 0 lists all)."


def _outage_note(outages: list[dict[str, Any]], top: int) -> str:
    if not outages:
        return "No outages in the window."
    shown = min(len(outages), top) if top > 0 else len(outages)
    return _shown_note(shown, len(outages), "longest outages")


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _chart_data(report: UptimeReport, top: int) -> dict[str, Any]:
    sites: list[dict[str, Any]] = []
    for site, days in sorted(report.days.items()):
        tz = report.tz(site)
        sites.append(
            {
                "id": site,
                "name": report.site_names.get(site) or site or "(no site)",
                "zone": report.zones.get(site, "UTC"),
                "days": [
                    {
                        "day": d.day.astimezone(tz).date().isoformat(),
                        "uptime": d.totals.uptime_percent,
                        "down": minutes(d.totals.down),
                    }
                    for d in days
                ],
            }
        )
    names = {s["id"]: s["name"] for s in sites}
    if top > 0 and len(sites) > top:  # the worst sites' charts; the table lists them all
        uptime = {k: t.uptime_percent for k, t in report.sites.items()}
        worst = sorted(sites, key=lambda s: (uptime[s["id"]], s["name"]))
        keep = {s["id"] for s in worst[:top]}
        sites = [s for s in sites if s["id"] in keep]
    with_outages = [(info, fig) for info, fig in report.chargers if fig.periods]
    ranked = sorted(with_outages, key=lambda r: (r[1].totals.uptime_percent, r[0].charger_id))
    shown = ranked[:top] if top > 0 else ranked
    rows = [_timeline(info, fig, report.tz(info.site_id)) for info, fig in shown]
    axis_zone = _axis_zone(report)
    return {
        "from": _ms(report.since),
        "to": _ms(report.until),
        "target": report.target_percent,
        "zone": axis_zone,
        "ticks": [
            [_ms(t), label] for t, label in ticks(report.since, report.until, zone(axis_zone))
        ],
        "sites": sorted(sites, key=lambda s: (_natural(s["name"]), s["id"])),
        "sites_hidden": len(report.days) - len(sites),
        "chargers": sorted(rows, key=lambda r: (names.get(r["site"], ""), _natural(r["label"]))),
        "quiet": sum(1 for _, fig in report.chargers if not fig.periods),
        "hidden": len(ranked) - len(shown),
    }


def _axis_zone(report: UptimeReport) -> str:
    """One zone for the shared timeline axis: --tz, else the sites' zone when they share
    one, else UTC (each bar's tooltip is in its own site's zone)."""
    if report.time_zone != SITE:
        return report.time_zone
    used = set(report.zones.values())
    return used.pop() if len(used) == 1 else "UTC"


def _timeline(info: ChargerInfo, fig: ChargerFigures, tz: tzinfo) -> dict[str, Any]:
    """One gantt row: counted downtime and excluded time, each with a readable tooltip."""
    segments: list[list[Any]] = []
    for a, b in fig.down:
        causes = sorted(
            {
                o.detail if o.cause == "fault" else f"offline ({o.detail})"
                for o in fig.outages
                if intersect([(a, b)], [(o.start, o.end or b)])
            }
        )
        tip = f"{', '.join(causes)}: {_span(a, b, tz)}, {minutes(b - a):,.1f} min"
        segments.append([_ms(a), _ms(b), "down", tip])
    for (a, b), reason in fig.excluded:
        tip = f"excluded ({reason}): {_span(a, b, tz)}, {minutes(b - a):,.1f} min"
        segments.append([_ms(a), _ms(b), "excluded", tip])
    return {
        "id": info.charger_id,
        "label": info.name or info.serial or info.charger_id,
        "site": info.site_id or "",
        "uptime": fig.totals.uptime_percent,
        "segments": segments,
    }


def _span(a: datetime, b: datetime, tz: tzinfo) -> str:
    """``2026-04-26 12:00 – 12:30 CEST`` (the date again only when it changes)."""
    start, end = a.astimezone(tz), b.astimezone(tz)
    same_day = start.date() == end.date()
    tail = end.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
    if start.tzname() != end.tzname():
        return f"{start:%Y-%m-%d %H:%M} {start.tzname()} – {tail} {end.tzname()}"
    return f"{start:%Y-%m-%d %H:%M} – {tail} {end.tzname() or 'UTC'}"


def _natural(label: str) -> list[Any]:
    """``#2`` before ``#10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label)]
