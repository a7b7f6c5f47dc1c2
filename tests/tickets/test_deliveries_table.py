"""``chargeops deliveries list|retry`` on ``--state table`` (Azurite): the delivery log is
read and written through its owner, so Table Storage behaves as SQLite does."""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx
import yaml

from shared.adapters.http import Sender
from shared.consumers.tickets.consumer import TicketsConsumer
from shared.consumers.tickets.repo import AlertRepo
from shared.notify.dispatch import Deliverer
from shared.notify.outbox import DeliveryLog
from shared.notify.targets import build_targets
from tests.support.azurite import Azurite, fresh
from tests.support.builders import at
from tests.support.cli import RunCli
from tests.tickets.conftest import Fleet
from tests.tickets.helpers import config_of, offline


def test_failed_delivery_is_listed_and_resent_on_table_storage(
    azurite: Azurite, fleet: Fleet, tmp_path: Path, cli_main: RunCli
) -> None:
    table = fresh()
    targets = fleet.targets("pd")
    targets["pd"]["routing_key"] = "WR0NG-KEY-0000000000"
    config = config_of(targets)
    store = azurite.store(table)
    with httpx.Client() as client:
        sender = Sender(client, sleep=lambda _s: None, rng=random.Random(1))
        deliverer = Deliverer(config, build_targets(config), DeliveryLog(store), sender)
        TicketsConsumer(config, AlertRepo(store), deliverer).handle(offline(1, 0, site=None))
        deliverer.flush()
        TicketsConsumer(config, AlertRepo(store), deliverer).tick(at(11))
    store.close()
    env = azurite.env(table)
    listed = cli_main("deliveries", "list", "--failed", "--json", "--state", "table", env=env)
    assert listed.returncode == 0, listed.stderr
    (failed,) = json.loads(listed.stdout)
    assert (failed["target"], failed["http_status"]) == ("pd", 400)
    fixed = {**targets["pd"], "routing_key": "R0UTING-KEY-0123456789"}
    path = tmp_path / "fixed.yaml"
    path.write_text(yaml.safe_dump({"targets": {"pd": fixed}, "routes": [{"targets": ["pd"]}]}))
    again = cli_main("deliveries", "retry", "--failed", "--state", "table", "--config",
                     str(path), "--out", str(tmp_path / "out"), env=env)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "pd: 1 delivered" in again.stdout
    assert len(fleet.pagerduty.triggers) == 1
    (sent,) = [s for s in fleet.pagerduty.seen if s.answered == 202]
    assert sent.json["dedup_key"] == "chargeops/offline/00000000-0000-4000-8000-000000000001"
    after = cli_main("deliveries", "list", "--failed", "--state", "table", env=env)
    assert "no deliveries failed" in after.stdout
