"""The HTML report rendered by headless Chromium: the page's script runs, and the DOM a
reader sees shows the hand-computed figures in its tables *and* its charts (daily bars
per site, an outage timeline per charger); a screenshot shows the charts painted. The
figures are checked in UTC (``--tz UTC``) and, by default, in the sites' own zone
(the registry says Europe/Oslo: local days, local hour ticks, local times). The page
parses without a single error under html5lib's strict WHATWG parser."""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest

from tests.support.builders import SITE_A, SITE_B, charger
from tests.support.cli import console
from tests.uptime.browser import Node, dump_dom, parse, png_colours, screenshot
from tests.uptime.conftest import Replayed

DOWN, OK = (0xD1, 0x49, 0x5B), (0x2E, 0x8B, 0x57)  # the page's --down and --ok colours


@pytest.fixture(scope="module")
def page(replayed: Replayed) -> Path:
    done = console("report", "uptime", "--from", "2026-04-25T12:00:00Z", "--to", "2026-04-27",
                   "--state", str(replayed.state), "--config", str(replayed.config),
                   "--format", "html", "--output", "uptime.html", "--tz", "UTC",
                   cwd=replayed.folder, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return replayed.folder / "uptime.html"


@pytest.fixture(scope="module")
def dom(page: Path, tmp_path_factory: pytest.TempPathFactory) -> Node:
    return parse(dump_dom(page, tmp_path_factory.mktemp("chromium-profile")))


@pytest.fixture(scope="module")
def local_dom(replayed: Replayed, tmp_path_factory: pytest.TempPathFactory) -> Node:
    """The default: each site's zone (Europe/Oslo, CEST = UTC+2), the worst 2 chargers."""
    done = console("report", "uptime", "--from", "2026-04-25T12:00:00Z", "--to", "2026-04-27",
                   "--state", str(replayed.state), "--config", str(replayed.config),
                   "--format", "html", "--output", "local.html", "--top", "2",
                   cwd=replayed.folder, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = replayed.folder / "local.html"
    html5lib.HTMLParser(strict=True).parse(page.read_bytes())
    return parse(dump_dom(page, tmp_path_factory.mktemp("chromium-profile")))


def test_page_is_valid_html(page: Path) -> None:
    """Strict parsing raises on the first parse error (a stray tag, a bad attribute)."""
    html5lib.HTMLParser(strict=True).parse(page.read_bytes())


def cell(row: Node, key: str) -> str:
    (td,) = row.find("td", data_key=key)
    return td.all_text


def test_page_is_self_contained(page: Path) -> None:
    text = page.read_text("utf-8")
    assert "<script src" not in text
    assert "<link" not in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text


def test_script_ran_without_error(dom: Node) -> None:
    (body,) = dom.find("body")
    assert "data-error" not in body.attrs, body.attrs.get("data-error")
    assert body.attrs.get("data-rendered") == "ok"


def test_tables_show_the_hand_computed_figures(dom: Node) -> None:
    # window 2026-04-25 12:00 -> 2026-04-27 00:00 = 36 h = 2160 min per charger
    (a,) = dom.find("tr", data_site=SITE_A)
    (b,) = dom.find("tr", data_site=SITE_B)
    assert cell(a, "uptime_percent") == f"{(4320 - 30) / 4320 * 100:.3f}"  # 99.306
    assert cell(b, "uptime_percent") == f"{(4320 - 240) / 4320 * 100:.3f}"  # 94.444
    (one,) = dom.find("tr", data_charger=charger(1))
    assert (cell(one, "outage_minutes"), cell(one, "excluded_minutes")) == ("90.0", "60.0")
    (three,) = dom.find("tr", data_charger=charger(3))
    assert cell(three, "outage_minutes") == "120.0"  # 25th 23:00 -> 26th 01:00, all inside
    (kpi,) = dom.find("div", id="kpi-fleet")
    assert kpi.all_text.startswith(f"{(8640 - 270) / 8640 * 100:.3f} %")


def test_daily_bars_per_site(dom: Node) -> None:
    bars = {(r.attrs["data-site"], r.attrs["data-day"]): r for r in dom.find("rect", class_="day")}
    assert set(bars) == {(s, d) for s in (SITE_A, SITE_B) for d in ("2026-04-25", "2026-04-26")}
    # the 25th is a half day (12:00-24:00, 720 min per charger): site B's charger 3 is down
    # 23:00-24:00 -> (1440 - 60) / 1440; the 26th: A loses 30, B loses 60 + 120 of 2880
    assert bars[(SITE_B, "2026-04-25")].attrs["data-uptime"] == f"{1380 / 1440 * 100:.3f}"
    assert bars[(SITE_A, "2026-04-25")].attrs["data-uptime"] == "100.000"
    assert bars[(SITE_A, "2026-04-26")].attrs["data-uptime"] == f"{2850 / 2880 * 100:.3f}"
    assert bars[(SITE_B, "2026-04-26")].attrs["data-uptime"] == f"{2700 / 2880 * 100:.3f}"
    assert "below" in bars[(SITE_B, "2026-04-26")].attrs["class"]  # 93.75 < 97
    assert "below" not in bars[(SITE_A, "2026-04-26")].attrs["class"]
    (tip,) = bars[(SITE_B, "2026-04-26")].find("title")
    assert tip.all_text == "Site B 2026-04-26: 93.750 % (180.0 min down), below target"
    # below target in words too: the site row says so, and the bar carries a mark
    (b_row,) = dom.find("tr", data_site=SITE_B)
    assert "below target" in b_row.all_text
    marks = [m.attrs["x"] for m in dom.find("text", data_mark="below")]
    assert len(marks) == 2  # site B on the 25th (95.833 %) and the 26th (93.750 %)


def test_outage_timeline_per_charger(dom: Node) -> None:
    rows = {g.attrs["data-charger"]: g for g in dom.find("g", class_="row")}
    assert set(rows) == {charger(1), charger(3), charger(4)}  # charger 2 had no outage
    one = rows[charger(1)]
    down = [t.all_text for r in one.find("rect", data_kind="down") for t in r.find("title")]
    assert down == ["Charger 1 — RELAY_WELDED: 2026-04-26 11:00 – 11:30 UTC, 30.0 min"]
    excluded = [t.all_text for r in one.find("rect", data_kind="excluded") for t in r.find("title")]
    assert excluded == [
        "Charger 1 — excluded (maintenance: planned maintenance): 2026-04-26 10:00 – "
        "11:00 UTC, 60.0 min"
    ]
    assert len(rows[charger(4)].find("rect", data_kind="down")) == 1
    (note,) = dom.find("p", id="timeline-note")
    assert note.all_text == "3 chargers with outages shown; 1 had none."


def test_screenshot_shows_painted_charts(page: Path, tmp_path: Path) -> None:
    colours = png_colours(screenshot(page, tmp_path / "profile", tmp_path / "shot.png"))
    assert colours.get(DOWN, 0) > 200  # red: outage segments and the bar below target
    assert colours.get(OK, 0) > 200  # green: bars at or above target


def test_local_days_hour_ticks_and_local_times(local_dom: Node) -> None:
    """Oslo days of the window 25th 12:00Z - 27th 00:00Z: the 25th (12:00Z-22:00Z), the
    26th (22:00Z-22:00Z) and two hours of the 27th (22:00Z-24:00Z)."""
    bars = {(r.attrs["data-site"], r.attrs["data-day"]): r.attrs["data-uptime"]
            for r in local_dom.find("rect", class_="day")}  # fmt: skip
    days = ("2026-04-25", "2026-04-26", "2026-04-27")
    assert set(bars) == {(s, d) for s in (SITE_A, SITE_B) for d in days}
    # site B, 2 chargers: charger 3 down 23:00Z-01:00Z (the Oslo 26th), charger 4 down
    # from 22:00Z (the Oslo 27th, 120 of its 2 x 120 minutes)
    assert bars[(SITE_B, "2026-04-25")] == "100.000"
    assert bars[(SITE_B, "2026-04-26")] == f"{(2880 - 120) / 2880 * 100:.3f}"
    assert bars[(SITE_B, "2026-04-27")] == "50.000"
    # a 36 h window gets a tick every 2 local hours, the date at local midnight
    labels = [t.all_text for t in local_dom.find("text", class_="xtick")]
    assert labels[:3] == ["14:00", "16:00", "18:00"]  # 12:00Z is 14:00 in Oslo
    assert "04-26" in labels
    assert labels[labels.index("04-26") - 1] == "22:00"
    (title,) = [t for t in local_dom.find("text", class_="xtitle") if "time" in t.all_text]
    assert title.all_text == "time (Europe/Oslo)"
    rows = {g.attrs["data-charger"]: g for g in local_dom.find("g", class_="row")}
    tips = [t.all_text for r in rows[charger(3)].find("rect", data_kind="down")
            for t in r.find("title")]  # fmt: skip
    assert tips == ["Charger 3 — offline (is_online): 2026-04-26 01:00 – 03:00 CEST, 120.0 min"]


def test_large_fleets_page_with_a_row_for_the_rest(local_dom: Node) -> None:
    """--top 2: the two worst chargers, then one row summing the other two (charger 1:
    outage 90, excluded 60; charger 2: none) over 2 x 2160 min."""
    rows = local_dom.find("table", id="chargers")[0].find("tr")
    listed = [r.attrs.get("data-charger") for r in rows if "data-charger" in r.attrs]
    assert set(listed) == {charger(3), charger(4)}
    (rest,) = local_dom.find("tr", id="chargers-rest")
    assert rest.all_text.startswith("2 more chargers")
    assert cell(rest, "uptime_percent") == f"{(4320 - 30) / 4320 * 100:.3f}"
    (note,) = local_dom.find("p", id="timeline-note")
    assert (
        note.all_text == "2 chargers with outages shown (the worst; 1 more not drawn); 1 had none."
    )
    outages = local_dom.find("table", id="outages")[0].find("tr")
    assert len([r for r in outages if "data-outage" in r.attrs]) == 2  # the 2 longest
    (onote,) = local_dom.find("p", id="outages-note")
    assert onote.all_text.startswith("The 2 longest outages of 4")
