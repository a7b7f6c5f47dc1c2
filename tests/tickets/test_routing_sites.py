"""Routes match finance records (OCPI CDRs) by site and charger too."""

from __future__ import annotations

from shared.config.loader import load_config
from shared.notify.routing import targets_for

CONFIG = """
targets:
  north: {kind: webhook, url: "https://north.example.com/hook"}
  rest: {kind: webhook, url: "https://rest.example.com/hook"}
routes:
  - match: {types: [finance.record.created], sites: [site-north]}
    targets: [north]
  - match: {types: [finance.record.created]}
    targets: [rest]
"""


def record(site: str | None) -> dict[str, object]:
    return {
        "id": "e1",
        "type": "finance.record.created",
        "data": {"id": "cdr-1", "chargeops": {"site_id": site, "charger_id": "c-1"}},
    }


def test_a_finance_record_routes_by_its_site() -> None:
    config = load_config(text=CONFIG)
    assert targets_for(config, record("site-north")) == ["north"]
    assert targets_for(config, record("site-south")) == ["rest"]
    assert targets_for(config, record(None)) == ["rest"]
