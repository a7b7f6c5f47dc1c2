"""A target that is down for a whole run: each notice reported failed at most once (not
once per retry within the run), and all of it kept pending for the next run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.support.cli import RunCli
from tests.support.receivers import free_port


def config(port: int) -> str:
    return f"""
targets:
  hook:
    kind: webhook
    url: http://127.0.0.1:{port}/hook
    retry: {{attempts: 2, backoff: 0s, max_backoff: 0s}}
    timeout: 2s
routes:
  - match: {{}}
    targets: [hook]
"""


def test_a_dead_target_is_reported_once_per_notice(run_cli: RunCli, day, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "c.yaml").write_text(config(port))
    done = run_cli("replay", str(day[0]), "--config", "c.yaml", "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    lines = [
        json.loads(x) for x in (tmp_path / "out" / "deliveries.jsonl").read_text().splitlines()
    ]
    per_key = Counter(line["idempotency_key"] for line in lines)
    assert set(per_key.values()) == {1}
    assert all(line["status"] == "failed" for line in lines)
    # everything is pending; notices queued behind a charger's failed one are not tried
    # (order per condition), so they have no outcome yet rather than a repeated one
    assert summary["pending_deliveries"] == sum(summary["events"].values())
    assert 0 < len(lines) <= summary["pending_deliveries"]
    assert summary["deliveries"] == {"hook": {"failed": len(lines)}}
