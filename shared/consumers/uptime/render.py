"""The uptime report as text: a table for people, CSV for spreadsheets, JSON for tools.

All three carry the same figures (``UptimeReport.as_json``); the table lists sites first,
then chargers worst first, and marks those below the target.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

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
)
_FIGURES = CSV_COLUMNS[6:]


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
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return out.getvalue()


def as_table(report: UptimeReport) -> str:
    doc = report.as_json()
    target = report.target_percent
    fleet = doc["fleet"]
    lines = [
        f"Uptime {doc['from']} .. {doc['to']} ({doc['method']}; {doc['formula']})",
        f"Fleet: {fleet['uptime_percent']:.3f} % over {fleet['chargers']} chargers; "
        f"outage {fleet['outage_minutes']:.1f} min, excluded {fleet['excluded_minutes']:.1f} "
        f"min, {fleet['outage_count']} outages; target {target:g} %",
        "",
    ]
    head = ("uptime %", "outage min", "excluded min", "outages", "longest min")
    site_rows = [
        [_site_label(s), *_cells(s), str(s["chargers"]), "below" if s["below_target"] else ""]
        for s in doc["sites"]
    ]
    lines += _grid(["site", *head, "chargers", "target"], site_rows)
    lines.append("")
    worst = sorted(doc["chargers"], key=lambda c: (c["uptime_percent"], c["charger_id"]))
    charger_rows = [
        [
            c["name"] or c["serial"] or c["charger_id"],
            (c["site_id"] or "-")[:8],
            *_cells(c),
            "below" if c["uptime_percent"] < target else "",
        ]
        for c in worst
    ]
    lines += _grid(["charger", "site", *head, "target"], charger_rows)
    return "\n".join(lines) + "\n"


def _site_label(site: dict[str, Any]) -> str:
    if site["site_id"] is None:
        return "(no site)"
    return str(site["site_name"] or site["site_id"])


def _cells(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['uptime_percent']:.3f}",
        f"{row['outage_minutes']:.1f}",
        f"{row['excluded_minutes']:.1f}",
        str(row["outage_count"]),
        f"{row['longest_outage_minutes']:.1f}",
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
