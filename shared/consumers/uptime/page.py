"""The HTML uptime report's page: its stylesheet, its drawing script and its skeleton
(``html.py`` fills them in). Kept apart so the Python that decides what is shown reads on
its own; nothing here is fetched from anywhere, the page is self-contained."""

from __future__ import annotations

__all__ = ["CSS", "PAGE", "SCRIPT"]

CSS = """
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
td.status{font-weight:600}td.below-mark{color:#a3212f}td.below-mark::before{content:"\\25BC\\00a0"}
tr.rest td{font-style:italic;background:#f5f7fa}
svg .tick{stroke:#cbd2d9;stroke-width:1}svg text.value{font-size:10px}
svg text.mark{fill:#a3212f;font-weight:700}
"""

SCRIPT = r"""
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
 var bw=Math.max(4,Math.min(40,Math.floor(880/Math.max(1,n)))),W=Math.max(x0+n*bw+30,260);
 var every=Math.ceil(44/bw);
 var low=100;data.sites.forEach(function(s){
  s.days.forEach(function(d){low=Math.min(low,d.uptime);});});
 var floor=Math.max(0,Math.min(data.target-2,Math.floor(low)-1));
 data.sites.forEach(function(site){
  var wrap=document.createElement("div");wrap.className="site-chart";
  wrap.setAttribute("data-site",site.id);
  var h=document.createElement("h3");h.textContent=site.name;h.style.margin="10px 0 2px";
  h.style.fontSize="13px";wrap.appendChild(h);
  var svg=el("svg",{width:W,height:H+56,viewBox:"0 0 "+W+" "+(H+56),role:"img"},wrap);
  tip(svg,"Daily availability of "+site.name);
  function y(v){return 18+(100-v)/(100-floor)*H;}
  // y axis: a line, ticks and labels every step from the floor to 100 %
  var step=(100-floor)>20?10:((100-floor)>8?2:1);
  el("line",{x1:x0-2,x2:x0-2,y1:y(100),y2:y(floor),"class":"axis"},svg);
  for(var v=floor;v<=100;v+=step){
   el("line",{x1:x0-6,x2:W-5,y1:y(v),y2:y(v),"class":v===floor?"axis":"tick",
    "stroke-opacity":v===floor?1:0.35},svg);
   el("text",{x:4,y:y(v)+4,"class":"ytick"},svg,v+" %");}
  var showValues=bw>=36;
  site.days.forEach(function(d,i){
   var top=y(Math.max(floor,d.uptime)),below=d.uptime<data.target;
   var r=el("rect",{x:x0+i*bw+1,y:top,width:bw-2,height:Math.max(1,y(floor)-top),
    "class":"day"+(below?" below":""),"data-site":site.id,"data-day":d.day,
    "data-uptime":fmt(d.uptime)},svg);
   tip(r,site.name+" "+d.day+": "+fmt(d.uptime)+" % ("+d.down.toFixed(1)+" min down)"+
    (below?", below target":""));
   // values rounded down, so a bar below target never reads as the target
   if(showValues||below){el("text",{x:x0+i*bw+bw/2,y:top-3,"text-anchor":"middle",
    "class":"value"},svg,d.uptime>=100?"100":(Math.floor(d.uptime*10)/10).toFixed(1));}
   if(below){el("text",{x:x0+i*bw+bw/2,y:top-15,"text-anchor":"middle","class":"mark",
    "data-mark":"below"},svg,"!");}
   if(i%every===0){el("text",{x:x0+i*bw,y:H+34},svg,d.day.slice(5));}
  });
  el("text",{x:x0,y:H+48,"class":"xtitle"},svg,"day ("+site.zone+"); \u201c!\u201d = below target");
  el("line",{x1:x0,x2:W-5,y1:y(data.target),y2:y(data.target),"class":"target"},svg);
  el("text",{x:W-5,y:y(data.target)-3,"text-anchor":"end","class":"value"},svg,
   "target "+data.target+" %");
  box.appendChild(wrap);
 });
 // 2. outage timeline per charger
 var tl=document.getElementById("timeline"),rows=data.chargers,rh=16,lw=190,tw=900;
 var span=data.to-data.from;
 var svg=el("svg",{width:lw+tw+40,height:rows.length*rh+44,role:"img"},tl);
 tip(svg,"Outages per charger");
 function x(t){return lw+(Math.min(Math.max(t,data.from),data.to)-data.from)/span*tw;}
 data.ticks.forEach(function(k){
  el("line",{x1:x(k[0]),x2:x(k[0]),y1:0,y2:rows.length*rh+4,"class":"axis"},svg);
  el("text",{x:x(k[0]),y:rows.length*rh+16,"text-anchor":"middle","class":"xtick",
   "data-at":k[0]},svg,k[1]);});
 el("text",{x:lw,y:rows.length*rh+34,"class":"xtitle"},svg,"time ("+data.zone+")");
 rows.forEach(function(c,i){
  var g=el("g",{"class":"row","data-charger":c.id,"data-uptime":fmt(c.uptime)},svg);
  el("text",{x:2,y:i*rh+12},g,c.label.length>26?c.label.slice(0,25)+"…":c.label);
  c.segments.forEach(function(s){
   var r=el("rect",{x:x(s[0]),y:i*rh+2,width:Math.max(1,x(s[1])-x(s[0])),height:rh-4,
    "class":"seg "+s[2],"data-kind":s[2]},g);tip(r,c.label+" — "+s[3]);});
 });
 var note=document.getElementById("timeline-note");
 note.textContent=rows.length+" chargers with outages shown"+
  (data.hidden?" (the worst; "+data.hidden+" more not drawn)":"")+"; "+data.quiet+" had none.";
 // 3. sortable tables
 Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
  Array.prototype.forEach.call(table.querySelectorAll("th"),function(th,col){
   th.addEventListener("click",function(){
    var body=table.tBodies[0],list=Array.prototype.slice.call(body.rows);
    var asc=th.getAttribute("data-dir")!=="asc";th.setAttribute("data-dir",asc?"asc":"desc");
    var rest=list.filter(function(r){return r.classList.contains("rest");});
    list=list.filter(function(r){return !r.classList.contains("rest");});
    list.sort(function(a,b){var c=a.cells[col],e=b.cells[col];
     var p=c.getAttribute("data-v")||c.textContent,q=e.getAttribute("data-v")||e.textContent;
     var m=parseFloat(p),n=parseFloat(q);var r=(isNaN(m)||isNaN(n))?p.localeCompare(q):m-n;
     return asc?r:-r;});
    list.concat(rest).forEach(function(r){body.appendChild(r);});});});});
 document.body.setAttribute("data-rendered","ok");
}catch(err){document.body.setAttribute("data-error",String(err&&err.message||err));}
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} {period}</title><style>{css}</style></head>
<body>
<h1>{title}</h1>
<p class="meta">Window {period} (UTC, end exclusive) · days and local times in {zones} ·
method {method} · faults counted as outages: {faults}</p>
<p class="meta" id="generated">Generated {generated}</p>
<div class="kpis">
<div class="kpi" id="kpi-fleet"><b>{fleet_uptime} %</b><span>fleet uptime</span></div>
<div class="kpi"><b>{chargers}</b><span>chargers at {sites} sites</span></div>
<div class="kpi" id="kpi-below"><b>{below}</b><span>chargers below {target} %</span></div>
<div class="kpi"><b>{outage}</b><span>outage minutes ({excluded} excluded)</span></div>
</div>
<h2>Availability per site and day</h2>
<p class="legend note"><span style="background:var(--ok)"></span>at or above target
<span style="background:var(--down)"></span>below target (also marked “!”)
<span style="border-top:2px dashed var(--warn);height:0"></span>target {target} %</p>
<p class="note" id="site-days-note">{site_note}</p>
<div class="chart" id="site-days"></div>
<h2>Outage timeline per charger</h2>
<p class="legend note"><span style="background:var(--down)"></span>counted outage
<span style="background:var(--excl)"></span>excluded (maintenance, declared, closed hours)</p>
<div class="chart" id="timeline"></div>
<p class="note" id="timeline-note"></p>
<h2>Sites</h2>
<table class="sortable" id="sites"><thead><tr><th>site</th><th>chargers</th>
<th>uptime %</th><th>outage min</th><th>excluded min</th><th>outages</th>
<th>longest min</th><th>target</th></tr></thead><tbody>
{site_rows}
</tbody></table>
<h2>Chargers</h2>
<p class="note" id="chargers-note">{charger_note}</p>
<table class="sortable" id="chargers"><thead><tr><th>charger</th><th>site</th>
<th>uptime %</th><th>outage min</th><th>excluded min</th><th>outages</th>
<th>longest min</th><th>target</th></tr></thead><tbody>
{charger_rows}
</tbody></table>
<h2>Outages</h2>
<p class="note" id="outages-note">{outage_note}</p>
<table class="sortable" id="outages"><thead><tr><th>charger</th><th>site</th>
<th>start (local)</th><th>end (local)</th><th>minutes</th><th>excluded min</th>
<th>cause</th></tr></thead><tbody>
{outage_rows}
</tbody></table>
<script type="application/json" id="uptime-data">{data}</script>
<script>{script}</script>
</body></html>
"""
