"""``chargeops replay --state table`` (Azurite) against the SQLite default: same files."""

from __future__ import annotations

from pathlib import Path

from tests.support.azurite import Azurite
from tests.support.cli import RunCli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "sample-day.jsonl"


def test_table_and_sqlite_give_byte_identical_events(
    run_cli: RunCli, azurite: Azurite, tmp_path: Path
) -> None:
    lite = run_cli("replay", str(SAMPLE), "--out", "lite", "--quiet")
    table = run_cli(
        "replay", str(SAMPLE), "--out", "table", "--state", "table", "--quiet", env=azurite.env()
    )
    assert lite.returncode == 0, lite.stderr
    assert table.returncode == 0, table.stderr
    events = (tmp_path / "lite" / "events.jsonl").read_bytes()
    assert events.count(b"\n") > 50
    assert (tmp_path / "table" / "events.jsonl").read_bytes() == events
    assert (tmp_path / "table" / "rejected.jsonl").read_bytes() == (
        tmp_path / "lite" / "rejected.jsonl"
    ).read_bytes()
    # deliveries are sent concurrently, so their lines may come in another order
    lines = sorted((tmp_path / "lite" / "deliveries.jsonl").read_text().splitlines())
    assert sorted((tmp_path / "table" / "deliveries.jsonl").read_text().splitlines()) == lines
    assert "AccountKey" not in table.stdout + table.stderr


def test_a_second_table_replay_adds_nothing(
    run_cli: RunCli, azurite: Azurite, tmp_path: Path
) -> None:
    capture = tmp_path / "part.jsonl"
    capture.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[:3000]))
    env = azurite.env()
    first = run_cli("replay", str(capture), "--out", "out", "--state", "table", "--json", env=env)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("*.jsonl")}
    second = run_cli("replay", str(capture), "--out", "out", "--state", "table", "--json", env=env)
    assert second.returncode == 0, second.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("*.jsonl")}
    assert after == before
    assert '"events": {}' in second.stdout


def test_table_without_storage_settings_is_a_usage_error(cli_main: RunCli) -> None:
    env = {"CHARGEOPS_STORAGE": "", "AzureWebJobsStorage": ""}
    result = cli_main("replay", str(SAMPLE), "--state", "table", env=env)
    assert result.returncode == 2
    assert "CHARGEOPS_STORAGE" in result.stderr
    assert "Traceback" not in result.stderr
