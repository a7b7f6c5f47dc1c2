"""The uptime report as one self-contained HTML page (inline CSS, JS and SVG; nothing
fetched), for people who want to see availability rather than read it.

Tables are written here, so the figures read with scripts off (mail clients, archives).
The charts (daily availability per site, an outage timeline per charger) are drawn by
the page's script from the embedded data, so the page stays small for large fleets; the
script marks ``<body data-rendered="ok">`` when done, or ``data-error`` when it fails.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import escape
from typing import Any

from shared.consumers.uptime.intervals import intersect
from shared.consumers.uptime.method import ChargerFigures, minutes
from shared.consumers.uptime.report import ChargerInfo, UptimeReport
from shared.timestamps import format_utc

__all__ = ["as_html"]


def as_html(report: UptimeReport, *, title: str = "Charger uptime") -> str:
    doc = report.as_json()
    data = _chart_data(report)
    names: dict[str | None, str] = {s["site_id"]: _site_label(s) for s in doc["sites"]}
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    fleet = doc["fleet"]
    below = sum(1 for c in doc["chargers"] if c["uptime_percent"] < report.target_percent)
    period = f"{escape(doc['from'])} – {escape(doc['to'])}"
    return _PAGE.format(
        title=escape(title),
        period=period,
        method=escape(f"{doc['method']}: {doc['formula']}"),
        faults=escape(", ".join(doc["outage_faults"]) or "none (offline periods only)"),
        fleet_uptime=f"{fleet['uptime_percent']:.3f}",
        chargers=fleet["chargers"],
        sites=len(doc["sites"]),
        below=below,
        target=f"{report.target_percent:g}",
        outage=f"{fleet['outage_minutes']:.1f}",
        excluded=f"{fleet['excluded_minutes']:.1f}",
        site_rows="\n".join(_site_row(s) for s in sorted(doc["sites"], key=_site_order)),
        charger_rows="\n".join(
            _charger_row(c, report.target_percent, names)
            for c in sorted(doc["chargers"], key=lambda c: _charger_order(c, names))
        ),
        css=_CSS,
        script=_SCRIPT,
        data=blob,
    )


def _site_label(s: dict[str, Any]) -> str:
    return "(no site)" if s["site_id"] is None else str(s["site_name"] or s["site_id"])


def _site_order(s: dict[str, Any]) -> tuple[str, str]:
    return (_site_label(s), s["site_id"] or "")


def _charger_order(c: dict[str, Any], names: dict[str | None, str]) -> tuple[Any, ...]:
    return (names.get(c["site_id"], ""), _natural(c["name"] or c["serial"] or c["charger_id"]))


def _site_row(s: dict[str, Any]) -> str:
    label = _site_label(s)
    cls = ' class="below"' if s["below_target"] else ""
    return (
        f'<tr{cls} data-site="{escape(s["site_id"] or "")}"><td>{escape(label)}</td>'
        f"<td>{s['chargers']}</td>{_figure_cells(s)}</tr>"
    )


def _charger_row(c: dict[str, Any], target: float, names: dict[str | None, str]) -> str:
    label = c["name"] or c["serial"] or c["charger_id"]
    site = names.get(c["site_id"], "")
    cls = ' class="below"' if c["uptime_percent"] < target else ""
    return (
        f'<tr{cls} data-charger="{escape(c["charger_id"])}"><td title="{escape(c["charger_id"])}">'
        f"{escape(label)}</td><td>{escape(site)}</td>{_figure_cells(c)}</tr>"
    )


def _figure_cells(row: dict[str, Any]) -> str:
    return (
        f'<td class="num" data-key="uptime_percent">{row["uptime_percent"]:.3f}</td>'
        f'<td class="num" data-key="outage_minutes">{row["outage_minutes"]:.1f}</td>'
        f'<td class="num" data-key="excluded_minutes">{row["excluded_minutes"]:.1f}</td>'
        f'<td class="num" data-key="outage_count">{row["outage_count"]}</td>'
        f'<td class="num" data-key="longest_outage_minutes">'
        f"{row['longest_outage_minutes']:.1f}</td>"
    )


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _chart_data(report: UptimeReport) -> dict[str, Any]:
    sites = []
    for site, days in sorted(report.days.items()):
        sites.append(
            {
                "id": site,
                "name": report.site_names.get(site) or site or "(no site)",
                "days": [
                    {
                        "day": format_utc(d.day)[:10],
                        "uptime": d.totals.uptime_percent,
                        "down": minutes(d.totals.down),
                    }
                    for d in days
                ],
            }
        )
    names = {s["id"]: s["name"] for s in sites}
    rows = [_timeline(info, fig) for info, fig in report.chargers if fig.periods]
    return {
        "from": _ms(report.since),
        "to": _ms(report.until),
        "target": report.target_percent,
        "sites": sorted(sites, key=lambda s: (s["name"], s["id"])),
        "chargers": sorted(rows, key=lambda r: (names.get(r["site"], ""), _natural(r["label"]))),
        "quiet": sum(1 for _, fig in report.chargers if not fig.periods),
    }


def _timeline(info: ChargerInfo, fig: ChargerFigures) -> dict[str, Any]:
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
        tip = f"{', '.join(causes)}: {_hm(a)} – {_hm(b)} UTC, {minutes(b - a):.1f} min"
        segments.append([_ms(a), _ms(b), "down", tip])
    for (a, b), reason in fig.excluded:
        tip = f"excluded ({reason}): {_hm(a)} – {_hm(b)} UTC, {minutes(b - a):.1f} min"
        segments.append([_ms(a), _ms(b), "excluded", tip])
    return {
        "id": info.charger_id,
        "label": info.name or info.serial or info.charger_id,
        "site": info.site_id or "",
        "uptime": fig.totals.uptime_percent,
        "segments": segments,
    }


def _natural(label: str) -> list[Any]:
    """``#2`` before ``#10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label)]


def _hm(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


_CSS = """
:root{--down:#d1495b;--excl:#9aa5b1;--ok:#2e8b57;--warn:#e3a008;--ink:#1f2933;--mute:#616e7c}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);margin:0;padding:24px 32px;background:#fbfcfd}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:var(--mute);margin:0 0 16px}
.kpis{display:flex;gap:16px;flex-wrap:wrap}
.kpi{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:10px 16px;min-width:150px}
.kpi b{display:block;font-size:24px}.kpi span{color:var(--mute);font-size:12px}
table{border-collapse:collapse;background:#fff;border:1px solid #e4e7eb;margin:4px 0}
th,td{padding:4px 10px;border-bottom:1px solid #eef0f2;text-align:left;white-space:nowrap}
th{background:#f5f7fa;cursor:pointer;user-select:none}td.num{text-align:right;
font-variant-numeric:tabular-nums}tr.below td{background:#fdf0f1}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;
vertical-align:-2px;border-radius:2px}
.chart{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:8px;overflow-x:auto}
.site-chart{display:inline-block;vertical-align:top;margin:0 18px 6px 0}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:var(--ink)}
svg .axis{stroke:#cbd2d9;stroke-width:1}svg .target{stroke:var(--warn);stroke-dasharray:4 3}
rect.day{fill:var(--ok)}rect.day.below{fill:var(--down)}
rect.seg.down{fill:var(--down)}rect.seg.excluded{fill:var(--excl)}
.note{color:var(--mute);font-size:12px}
"""

_SCRIPT = r"""
(function(){
"use strict";
var NS="http://www.w3.org/2000/svg";
function el(name,attrs,parent,text){var e=document.createElementNS(NS,name);
 for(var k in attrs){e.setAttribute(k,attrs[k]);} if(text!==undefined){e.textContent=text;}
 if(parent){parent.appendChild(e);} return e;}
function tip(node,text){el("title",{},node,text);}
function fmt(x){return x.toFixed(3);}
try{
 var data=JSON.parse(document.getElementById("uptime-data").textContent);
 // 1. availability per site and day
 var box=document.getElementById("site-days");
 var n=data.sites.length?data.sites[0].days.length:1,H=120,x0=60;
 var bw=Math.max(4,Math.min(24,Math.floor(880/Math.max(1,n)))),W=x0+n*bw+30;
 var every=Math.ceil(44/bw);
 var low=100;data.sites.forEach(function(s){
  s.days.forEach(function(d){low=Math.min(low,d.uptime);});});
 var floor=Math.max(0,Math.min(data.target-2,Math.floor(low)-1));
 data.sites.forEach(function(site){
  var wrap=document.createElement("div");wrap.className="site-chart";
  wrap.setAttribute("data-site",site.id);
  var h=document.createElement("h3");h.textContent=site.name;h.style.margin="10px 0 2px";
  h.style.fontSize="13px";wrap.appendChild(h);
  var svg=el("svg",{width:W,height:H+30,viewBox:"0 0 "+W+" "+(H+30),role:"img"},wrap);
  tip(svg,"Daily availability of "+site.name);
  function y(v){return 10+(100-v)/(100-floor)*H;}
  el("line",{x1:x0,x2:W-5,y1:y(100),y2:y(100),"class":"axis"},svg);
  el("line",{x1:x0,x2:W-5,y1:y(floor),y2:y(floor),"class":"axis"},svg);
  el("text",{x:4,y:y(100)+4},svg,"100 %");el("text",{x:4,y:y(floor)+4},svg,floor+" %");
  site.days.forEach(function(d,i){
   var top=y(Math.max(floor,d.uptime));
   var r=el("rect",{x:x0+i*bw+1,y:top,width:bw-2,height:Math.max(1,y(floor)-top),
    "class":"day"+(d.uptime<data.target?" below":""),"data-site":site.id,"data-day":d.day,
    "data-uptime":fmt(d.uptime)},svg);
   tip(r,site.name+" "+d.day+": "+fmt(d.uptime)+" % ("+d.down.toFixed(1)+" min down)");
   if(i%every===0){el("text",{x:x0+i*bw,y:H+26},svg,d.day.slice(5));}
  });
  el("line",{x1:x0,x2:W-5,y1:y(data.target),y2:y(data.target),"class":"target"},svg);
  box.appendChild(wrap);
 });
 // 2. outage timeline per charger
 var tl=document.getElementById("timeline"),rows=data.chargers,rh=16,lw=190,tw=900;
 var span=data.to-data.from;
 var svg=el("svg",{width:lw+tw+40,height:rows.length*rh+30,role:"img"},tl);
 tip(svg,"Outages per charger");
 function x(t){return lw+(Math.min(Math.max(t,data.from),data.to)-data.from)/span*tw;}
 var days=Math.round(span/864e5);
 for(var d=0;d<=days;d++){var t=data.from+d*864e5;if(t>data.to){break;}
  el("line",{x1:x(t),x2:x(t),y1:0,y2:rows.length*rh,"class":"axis"},svg);
  if(d<days&&d%Math.max(1,Math.ceil(days/10))===0){
   el("text",{x:x(t)+2,y:rows.length*rh+14},svg,new Date(t).toISOString().slice(5,10));}}
 rows.forEach(function(c,i){
  var g=el("g",{"class":"row","data-charger":c.id,"data-uptime":fmt(c.uptime)},svg);
  el("text",{x:2,y:i*rh+12},g,c.label.length>26?c.label.slice(0,25)+"…":c.label);
  c.segments.forEach(function(s){
   var r=el("rect",{x:x(s[0]),y:i*rh+2,width:Math.max(1,x(s[1])-x(s[0])),height:rh-4,
    "class":"seg "+s[2],"data-kind":s[2]},g);tip(r,c.label+" — "+s[3]);});
 });
 var note=document.getElementById("timeline-note");
 note.textContent=rows.length+" chargers with outages shown; "+data.quiet+" had none.";
 // 3. sortable tables
 Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
  Array.prototype.forEach.call(table.querySelectorAll("th"),function(th,col){
   th.addEventListener("click",function(){
    var body=table.tBodies[0],list=Array.prototype.slice.call(body.rows);
    var asc=th.getAttribute("data-dir")!=="asc";th.setAttribute("data-dir",asc?"asc":"desc");
    list.sort(function(a,b){var p=a.cells[col].textContent,q=b.cells[col].textContent;
     var m=parseFloat(p),n=parseFloat(q);var r=(isNaN(m)||isNaN(n))?p.localeCompare(q):m-n;
     return asc?r:-r;});
    list.forEach(function(r){body.appendChild(r);});});});});
 document.body.setAttribute("data-rendered","ok");
}catch(err){document.body.setAttribute("data-error",String(err&&err.message||err));}
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} {period}</title><style>{css}</style></head>
<body>
<h1>{title}</h1>
<p class="meta">Window {period} (UTC, end exclusive) · method {method} ·
faults counted as outages: {faults}</p>
<div class="kpis">
<div class="kpi" id="kpi-fleet"><b>{fleet_uptime} %</b><span>fleet uptime</span></div>
<div class="kpi"><b>{chargers}</b><span>chargers at {sites} sites</span></div>
<div class="kpi" id="kpi-below"><b>{below}</b><span>chargers below {target} %</span></div>
<div class="kpi"><b>{outage}</b><span>outage minutes ({excluded} excluded)</span></div>
</div>
<h2>Availability per site and day</h2>
<p class="legend note"><span style="background:var(--ok)"></span>at or above target
<span style="background:var(--down)"></span>below target
<span style="border-top:2px dashed var(--warn);height:0"></span>target {target} %</p>
<div class="chart" id="site-days"></div>
<h2>Outage timeline per charger</h2>
<p class="legend note"><span style="background:var(--down)"></span>counted outage
<span style="background:var(--excl)"></span>excluded (maintenance, declared, closed hours)</p>
<div class="chart" id="timeline"></div>
<p class="note" id="timeline-note"></p>
<h2>Sites</h2>
<table class="sortable" id="sites"><thead><tr><th>site</th><th>chargers</th>
<th>uptime %</th><th>outage min</th><th>excluded min</th><th>outages</th>
<th>longest min</th></tr></thead><tbody>
{site_rows}
</tbody></table>
<h2>Chargers</h2>
<table class="sortable" id="chargers"><thead><tr><th>charger</th><th>site</th>
<th>uptime %</th><th>outage min</th><th>excluded min</th><th>outages</th>
<th>longest min</th></tr></thead><tbody>
{charger_rows}
</tbody></table>
<script type="application/json" id="uptime-data">{data}</script>
<script>{script}</script>
</body></html>
"""
