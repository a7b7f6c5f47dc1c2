"""``chargeops registry refresh|list|status`` as users run it, against the simulator."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

from shared.config.loader import load_config
from simulators.zaptec_api import generate_fleet
from tests.registry.conftest import PASSWORD, USER

ENV = {"ZAPTEC_USERNAME": USER, "ZAPTEC_PASSWORD": PASSWORD}


def write_config(tmp_path: Path, url: str, extra: str = "") -> str:
    path = tmp_path / "chargeops.yaml"
    path.write_text(
        "version: 1\nzaptec:\n"
        f"  api_base: {url}\n"
        "  username: ${ZAPTEC_USERNAME}\n"
        "  password: ${ZAPTEC_PASSWORD}\n" + extra,
        "utf-8",
    )
    return str(path)


def test_refresh_then_list_prints_every_charger(run_cli, served, tmp_path):
    fleet = generate_fleet(150, seed=2)
    sim, url = served(fleet)
    cfg = write_config(tmp_path, url)
    done = run_cli("registry", "refresh", "--config", cfg, env=ENV)
    assert done.returncode == 0, done.stderr
    assert "complete" in done.stdout
    again = run_cli("registry", "refresh", "--config", cfg, "--json", env=ENV)
    assert json.loads(again.stdout)["status"] == "fresh"
    listed = run_cli("registry", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 150
    site = fleet["installations"][3]
    mine = {r["charger_id"]: r for r in rows if r["site_id"] == site["Id"]}
    assert {c["Id"] for c in site["chargers"]} == set(mine)
    for c in site["chargers"]:
        row = mine[c["Id"]]
        assert (row["serial"], row["name"], row["site_name"]) == (
            c["DeviceId"], c["Name"], site["Name"],
        )  # fmt: skip
    table = run_cli("registry", "list", "--site", site["Id"])
    assert "10 chargers" in table.stdout
    events = (tmp_path / "out" / "events.jsonl").read_text().splitlines()
    assert len(events) == 150
    assert {json.loads(e)["type"] for e in events} == {"registry.charger.added"}
    state = (tmp_path / "out" / "state.sqlite3").read_bytes()
    for output in (done.stdout, done.stderr, listed.stdout, state.decode("latin-1")):
        assert PASSWORD not in output
    assert sim.stats["throttled"] == 0


def test_status_reports_the_last_refresh_and_the_budget(run_cli, served, tmp_path):
    _, url = served(generate_fleet(30, seed=1))
    cfg = write_config(tmp_path, url)
    assert run_cli("registry", "refresh", "--config", cfg, env=ENV).returncode == 0
    status = run_cli("registry", "status", "--config", cfg, "--json", env=ENV)
    report = json.loads(status.stdout)
    assert report["last_refresh"]["chargers"] == 30
    assert report["in_progress"] is None
    (budget,) = report["budgets"]
    assert budget["windows"]["lists"][0] == {"used": 2, "limit": 30, "per_seconds": 60.0}
    assert budget["totals"]["lists"] == 2
    text = run_cli("registry", "status", "--config", cfg, env=ENV).stdout
    assert "last complete refresh: " in text
    assert "budget lists: 2/30 per 60s" in text
    assert "budget requests so far: " in text  # read as text, not a Python dict
    assert "{" not in text


def test_missing_credentials_exit_2_naming_the_key(cli_main):
    empty = {"ZAPTEC_USERNAME": "", "ZAPTEC_PASSWORD": ""}
    result = cli_main("registry", "refresh", env=empty)
    assert result.returncode == 2
    assert "zaptec.username" in result.stderr
    assert "Traceback" not in result.stderr


def test_rejected_credentials_exit_2_without_echoing_the_password(cli_main, served, tmp_path):
    sim, url = served(generate_fleet(5))
    sim.username, sim.password = USER, "the-right-one"
    result = cli_main("registry", "refresh", "--config", write_config(tmp_path, url), env=ENV)
    assert result.returncode == 2
    assert "zaptec.password" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_invalid_zaptec_settings_exit_2_naming_the_key(cli_main, served, tmp_path):
    cfg = write_config(tmp_path, "https://api.zaptec.com", "  page_size: 500\n")
    result = cli_main("registry", "refresh", "--config", cfg, env=ENV)
    assert result.returncode == 2
    assert "zaptec.page_size" in result.stderr
    cfg = write_config(tmp_path, "http://api.example.com")
    result = cli_main("registry", "refresh", "--config", cfg, env=ENV)
    assert result.returncode == 2
    assert "zaptec.api_base" in result.stderr


def test_two_refresh_processes_on_one_state_never_draw_a_429(run_cli, served, tmp_path):
    sim, url = served(generate_fleet(400, seed=9))
    cfg = write_config(tmp_path, url)
    outputs: list[subprocess.CompletedProcess[str]] = []

    def run() -> None:
        outputs.append(run_cli("registry", "refresh", "--force", "--config", cfg, env=ENV))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [o.returncode for o in outputs] == [0, 0], [o.stderr for o in outputs]
    assert any("complete" in o.stdout for o in outputs)
    assert sim.stats["throttled"] == 0
    listed = json.loads(run_cli("registry", "list", "--json").stdout)
    assert len(listed) == 400


def test_the_contract_example_still_validates():
    text = (
        "zaptec:\n  api_base: https://api.zaptec.com\n"
        "  username: ${ZAPTEC_USERNAME}\n  password: ${ZAPTEC_PASSWORD}\n"
    )
    env = {"ZAPTEC_USERNAME": "u", "ZAPTEC_PASSWORD": "hunter2-pw"}
    config = load_config(text=text, env=env)
    assert config.zaptec.username == "u"
    assert config.zaptec.secret() == "hunter2-pw"
    assert "hunter2" not in repr(config) + str(config.model_dump())
    assert config.zaptec.limits.lists[1].requests == 150
