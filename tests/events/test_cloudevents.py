"""Every producer of CloudEvents builds them with ``shared.events.cloudevents.envelope``:
each output is a valid CloudEvents 1.0 structured-mode event, with the attributes in the
one order the event log and ``events.jsonl`` have always had, and of a catalogued type.
The sample replay emits nothing the catalogue does not know."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared.consumers.finance.ledger import RECORD_TYPE, record_event
from shared.consumers.tickets.samples import sample_notice
from shared.consumers.tickets.sites import site_event as _site_event
from shared.consumers.uptime.monthly import report_events
from shared.consumers.uptime.report import build_report
from shared.events import catalogue
from shared.events.cloudevents import REQUIRED, charger_source, envelope
from shared.events.model import ChargerOffline, SessionCompleted, cloudevent, event_id
from shared.registry.events import ADDED, CHANGED, MESSAGING_IDLE, charger_event, messaging_event
from shared.storage.sqlite import SqliteStore
from tests.conftest import ROOT
from tests.support.builders import DAY, SITE_A, config, period, publish, register
from tests.support.cli import RunCli

ORDER = ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"]
ATTRIBUTE = re.compile(r"[a-z0-9]{1,20}")  # CloudEvents 1.0: attribute naming
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
T0 = datetime(2026, 4, 26, 10, 0, 5, tzinfo=UTC)


def problems(event: dict[str, Any]) -> list[str]:
    """Why ``event`` is not a CloudEvents 1.0 structured-mode JSON event (empty: it is)."""
    found = [f"{k}: required, a non-empty string" for k in REQUIRED if not event.get(k)]
    found += [f"{k}: not a string" for k in REQUIRED if not isinstance(event.get(k), str)]
    if event.get("specversion") != "1.0":
        found.append("specversion: not 1.0")
    found += [
        f"{k}: bad attribute name" for k in event if k != "data" and not ATTRIBUTE.fullmatch(k)
    ]
    source = str(event.get("source", ""))
    if re.search(r"\s", source) or not urlsplit(source).path:
        found.append("source: not a URI-reference")
    if "time" in event and not RFC3339.fullmatch(str(event["time"])):
        found.append("time: not RFC 3339")
    if "subject" in event and not (isinstance(event["subject"], str) and event["subject"]):
        found.append("subject: not a non-empty string")
    if not MEDIA_TYPE.fullmatch(str(event.get("datacontenttype", "application/json"))):
        found.append("datacontenttype: not a media type")
    if "data" in event and "data_base64" in event:
        found.append("both data and data_base64")
    json.dumps(event, allow_nan=False)  # structured mode: the whole event is JSON
    return found


def produced(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """One event from every producer, by a label naming it."""
    record = {"charger_id": "c-1", "serial": "ZAP000001", "site_id": "s-1", "name": "Bay 1"}
    offline = ChargerOffline(
        charger_id="c-1", serial=None, observed_at=T0, offline_since=T0, cause="silence"
    )
    session = SessionCompleted(
        charger_id="c-1", serial="ZAP000001", site_id="s-1", observed_at=T0,
        session_id="sess-1", started_at=T0 - timedelta(hours=1), ended_at=T0,
        duration_seconds=3600.0, energy_kwh=7.5, energy_source="completed_session",
        auth_token=None, signed_data=None, reliable_clock=True, derived=False,
    )  # fmt: skip
    cdr = {
        "id": "CDR-1", "last_updated": "2026-04-26T10:00:05Z",
        "chargeops": {"record_version": 2, "charger_id": "c-1", "site_id": None, "vendor": None},
    }  # fmt: skip
    with SqliteStore(str(tmp_path / "state.sqlite3")) as store:
        register(store, {1: SITE_A})
        publish(store, period(1, DAY + timedelta(hours=10), DAY + timedelta(hours=12), SITE_A))
        report = build_report(config(), store, DAY - timedelta(days=1), DAY + timedelta(days=1))
    fleet, site = report_events(report, T0)
    members = frozenset({"c-1", "c-2"})
    return {
        "model.cloudevent offline": cloudevent(offline),
        "model.cloudevent session": cloudevent(session),
        "registry added": charger_event(ADDED, record, "cycle-1", T0),
        "registry changed": charger_event(CHANGED, record, "cycle-1", T0, {"name": {}}),
        "registry messaging": messaging_event(MESSAGING_IDLE, "subscription/x", "i", T0, {}),
        "finance record": record_event(cdr),
        "uptime fleet": fleet,
        "uptime site": site,
        "tickets site.offline": _site_event("site.offline", "s-1", T0, T0, members),
        "tickets site.online": _site_event("site.online", "s-1", T0, T0 + timedelta(1), members),
        "sample fault": sample_notice("t", "jira", "charger.fault.cleared").event,
        "sample site": sample_notice("t", "jira", "site.online").event,
        "sample plain": sample_notice("t", "webhook", "session.completed").event,
        "sample registry": sample_notice("t", "webhook", "registry.charger.added").event,
    }


def test_every_producer_builds_a_valid_cloudevent_in_the_one_order(tmp_path: Path) -> None:
    for label, event in produced(tmp_path).items():
        assert problems(event) == [], label
        # finance records carry the chargeops extension as an attribute beside the CDR
        extension = ["chargeops"] if event["type"] == RECORD_TYPE else []
        assert list(event) == [*ORDER[:-1], *extension, "data"], label
        assert event["datacontenttype"] == "application/json", label
        assert catalogue.lookup(event["type"]) is not None, f"{label}: {event['type']}"


def test_the_builders_keep_their_sources_subjects_and_ids(tmp_path: Path) -> None:
    events = produced(tmp_path)
    offline = events["model.cloudevent offline"]
    assert offline["source"] == "zaptec/charger/c-1"
    assert offline["time"] == "2026-04-26T10:00:05Z"
    assert events["model.cloudevent session"]["source"] == "zaptec/installation/s-1"
    assert events["registry added"]["source"] == "zaptec/installation/s-1"
    assert events["registry messaging"]["source"] == "zaptec/subscription/x"
    assert events["registry messaging"]["data"] == {"observed_at": "2026-04-26T10:00:05Z"}
    record = events["finance record"]
    assert record["id"] == event_id(RECORD_TYPE, "CDR-1", "2")
    assert (record["source"], record["subject"]) == ("zaptec/charger/c-1", "c-1")
    assert record["time"] == "2026-04-26T10:00:05Z"
    assert events["uptime fleet"]["source"] == "chargeops/uptime"
    assert events["uptime site"]["source"] == f"chargeops/uptime/site/{SITE_A}"
    assert events["tickets site.online"]["source"] == "chargeops/site/s-1"
    assert events["tickets site.online"]["time"] == "2026-04-27T10:00:05Z"


def test_envelope_takes_data_as_given_and_formats_datetimes() -> None:
    data: dict[str, Any] = {"b": 1, "a": 2}
    event = envelope(type="report.x", id="1", source="s", subject="x", time=T0, data=data)
    assert event["data"] is data
    assert event["time"] == "2026-04-26T10:00:05Z"
    micro = T0.replace(microsecond=5)
    assert (
        envelope(type="report.x", id="1", source="s", subject="x", time=micro, data={})["time"]
        == "2026-04-26T10:00:05.000005Z"
    )
    as_text = envelope(type="report.x", id="1", source="s", subject="x", time="t", data={})
    assert as_text["time"] == "t"


def test_envelope_refuses_a_type_the_catalogue_does_not_know() -> None:
    with pytest.raises(ValueError, match="not in the event catalogue"):
        envelope(type="charger.exploded", id="1", source="s", subject="x", time="t", data={})


def test_charger_source() -> None:
    assert charger_source("c", "s") == "zaptec/installation/s"
    assert charger_source("c", None) == "zaptec/charger/c"
    assert charger_source("c", "", "acme") == "acme/charger/c"


def test_the_sample_replay_emits_only_catalogued_logged_types(run_cli: RunCli, tmp_path) -> None:
    sample = ROOT / "samples" / "sample-day.jsonl"
    done = run_cli("replay", str(sample), "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "out" / "events.jsonl").read_text("utf-8").splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    types = {e["type"] for e in events}
    assert types == set(json.loads(done.stdout)["events"])
    assert types >= {"charger.offline", "session.completed", RECORD_TYPE}
    for event in events:
        assert problems(event) == [], event["id"]
        extension = ["chargeops"] if event["type"] == RECORD_TYPE else []
        assert list(event) == [*ORDER[:-1], *extension, "data"], event["id"]
        known = catalogue.lookup(event["type"])
        assert known is not None, event["type"]
        assert known.carrier in ("topic", "log"), event["type"]  # notices are never logged
