"""The uptime report as text: a table for people, CSV for spreadsheets, JSON for tools.

All three carry the same figures (``UptimeReport.as_json``); the table lists sites first,
then chargers worst first (the worst ``top`` and a summary row for the rest, so a
1,100-charger fleet stays readable), marks those below the target in words, and ends
with the longest outages in each site's local time. CSV adds one ``scope: outage`` row
per outage; JSON an ``outages`` list. Numbers people read carry thousands separators;
CSV and JSON keep plain numbers for tools.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from shared.consumers.uptime.local import SITE
from shared.consumers.uptime.report import UptimeReport

__all__ = ["CSV_COLUMNS", "as_csv", "as_json_text", "as_table"]

CSV_COLUMNS = (
    "scope",
    "site_id",
    "site_name",
    "charger_id",
    "serial",
    "name",
    "uptime_percent",
    "outage_minutes",
    "excluded_minutes",
    "outage_count",
    "longest_outage_minutes",
    "window_minutes",
    # outage rows (scope "outage"): one counted outage; its minutes are in outage_minutes
    "start",
    "end",
    "start_local",
    "end_local",
    "time_zone",
    "cause",
    "detail",
    "open",
)


def as_json_text(report: UptimeReport) -> str:
    return json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n"


def as_csv(report: UptimeReport) -> str:
    """One row per charger, per site and one for the fleet (``scope`` tells which)."""
    doc = report.as_json()
    names = {s["site_id"]: s["site_name"] for s in doc["sites"]}
    rows: list[dict[str, Any]] = [
        {"scope": "charger", "site_name": names.get(c["site_id"]), **c} for c in doc["chargers"]
    ]
    rows += [{"scope": "site", **s} for s in doc["sites"]]
    rows.append({"scope": "fleet", **doc["fleet"]})
    rows += [
        {"scope": "outage", **o, "name": o["charger"], "site_name": o["site"],
         "outage_minutes": o["minutes"], "open": "yes" if o["open"] else "no"}
        for o in doc["outages"]
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return out.getvalue()


def as_table(report: UptimeReport, *, top: int = 0) -> str:
    """The report for a terminal; ``top`` > 0 lists only the worst ``top`` chargers and
    longest outages, with a row summing the rest."""
    doc = report.as_json()
    target = report.target_percent
    fleet = doc["fleet"]
    zones = "each site's own zone" if report.time_zone == SITE else report.time_zone
    lines = [
        f"Uptime {doc['from']} .. {doc['to']} ({doc['method']}; {doc['formula']})",
        f"Generated {doc['generated_at']}; local times in {zones}",
        f"Fleet: {fleet['uptime_percent']:,.3f} % over {fleet['chargers']:,} chargers; "
        f"outage {fleet['outage_minutes']:,.1f} min, excluded {fleet['excluded_minutes']:,.1f} "
        f"min, {fleet['outage_count']:,} outages; target {target:g} %",
        "",
    ]
    head = ("uptime %", "outage min", "excluded min", "outages", "longest min")
    site_rows = [
        [_site_label(s), *_cells(s), f"{s['chargers']:,}", _mark(s["below_target"])]
        for s in doc["sites"]
    ]
    lines += _grid(["site", *head, "chargers", "target"], site_rows)
    lines.append("")
    worst = sorted(doc["chargers"], key=lambda c: (c["uptime_percent"], c["charger_id"]))
    shown = worst[:top] if top > 0 else worst
    sites = {s["site_id"]: _site_label(s) for s in doc["sites"]}
    charger_rows = [
        [
            c["name"] or c["serial"] or c["charger_id"],
            sites.get(c["site_id"], "-"),
            *_cells(c),
            _mark(c["uptime_percent"] < target),
        ]
        for c in shown
    ]
    rest = worst[len(shown) :]
    if rest:
        charger_rows.append(_rest_row(rest, target))
    lines += _grid(["charger", "site", *head, "target"], charger_rows)
    lines += ["", *_outage_lines(doc["outages"], top)]
    return "\n".join(lines) + "\n"


def _mark(below: bool) -> str:
    return "BELOW" if below else "ok"


def _rest_row(rest: list[dict[str, Any]], target: float) -> list[str]:
    """The chargers beyond ``top``, summed as the method sums a site (port-weighted)."""
    window = sum(c["window_minutes"] for c in rest)
    outage = sum(c["outage_minutes"] for c in rest)
    excluded = sum(c["excluded_minutes"] for c in rest)
    uptime = (window - (outage - excluded)) / window * 100 if window else 100.0
    below = sum(1 for c in rest if c["uptime_percent"] < target)
    return [
        f"({len(rest):,} more chargers)",
        "",
        f"{uptime:,.3f}",
        f"{outage:,.1f}",
        f"{excluded:,.1f}",
        f"{sum(c['outage_count'] for c in rest):,}",
        f"{max(c['longest_outage_minutes'] for c in rest):,.1f}",
        f"{below:,} below" if below else "ok",
    ]


def _outage_lines(outages: list[dict[str, Any]], top: int) -> list[str]:
    if not outages:
        return ["Outages: none in the window"]
    longest = sorted(outages, key=lambda o: (-o["minutes"], o["start"], o["charger"]))
    shown = longest[:top] if top > 0 else longest
    title = f"Outages: {len(outages):,}" + (
        f" (the {len(shown):,} longest; --top 0 lists all)" if len(shown) < len(outages) else ""
    )
    rows = [
        [
            o["charger"],
            o["site"] or o["site_id"] or "(no site)",
            o["start_local"],
            o["end_local"] + (" (open)" if o["open"] else ""),
            f"{o['minutes']:,.1f}",
            f"{o['excluded_minutes']:,.1f}",
            f"{o['cause']}: {o['detail']}",
        ]
        for o in shown
    ]
    return [title, *_grid(["charger", "site", "start", "end", "min", "excluded min", "cause"],
                          rows)]  # fmt: skip


def _site_label(site: dict[str, Any]) -> str:
    if site["site_id"] is None:
        return "(no site)"
    return str(site["site_name"] or site["site_id"])


def _cells(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['uptime_percent']:,.3f}",
        f"{row['outage_minutes']:,.1f}",
        f"{row['excluded_minutes']:,.1f}",
        f"{row['outage_count']:,}",
        f"{row['longest_outage_minutes']:,.1f}",
    ]


def _grid(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        last = len(cells) - 1
        out = [
            c.ljust(w) if i in (0, last) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return [line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)]
