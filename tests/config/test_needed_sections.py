"""A command resolves only the configuration sections it uses: the Zaptec password is
asked for by the commands that call Zaptec, not by a finance export or a report
(issue 15, "only the sections a command needs are resolved")."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import RunCli

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"

CONFIG = """\
zaptec:
  username: ${ZAPTEC_USERNAME}
  password: ${ZAPTEC_PASSWORD}
targets:
  ops:
    kind: webhook
    url: file://{out}/ops
routes:
  - match: {types: ["charger.*"]}
    targets: [ops]
"""

CREDENTIALS = {"ZAPTEC_USERNAME": "ops@example.com", "ZAPTEC_PASSWORD": "hunter2-but-longer"}


def test_commands_that_never_call_zaptec_run_without_its_password(
    run_cli: RunCli, tmp_path: Path
) -> None:
    config = tmp_path / "chargeops.yaml"
    config.write_text(CONFIG.replace("{out}", str(tmp_path)))
    replayed = run_cli("replay", str(SAMPLE), "--config", str(config), "--quiet", env=CREDENTIALS)
    assert replayed.returncode == 0, replayed.stderr

    without = {"ZAPTEC_USERNAME": "", "ZAPTEC_PASSWORD": ""}
    for args in (
        ("export", "--from", "2026-04-01", "--to", "2026-06-01", "--format", "jsonl"),
        ("report", "uptime", "--from", "2026-04-01", "--to", "2026-06-01", "--format", "json"),
        ("alerts", "list", "--json"),
    ):
        done = run_cli(*args, "--config", str(config), env=without)
        assert done.returncode == 0, (args, done.stderr)
        assert "ZAPTEC_PASSWORD" not in done.stderr

    refresh = run_cli("registry", "refresh", "--config", str(config), env=without)
    assert refresh.returncode == 2
    assert "ZAPTEC_PASSWORD" in refresh.stderr
    assert "zaptec.password" in refresh.stderr
    assert "hunter2" not in refresh.stderr
