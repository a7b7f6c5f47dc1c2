"""checkov (framework bicep, offline) on infra/: no failed check, no parsing error, and every
skip carries its reason and is still needed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ._iac import INFRA, REPO, require_tool

SKIP_COMMENT = re.compile(r"checkov:skip=([A-Z0-9_]+):\s*(\S.*)")


def test_checkov_parses_every_bicep_file(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, summary
    # Every file's resources were seen (a file checkov cannot read only shows up as a count).
    assert summary["resource_count"] > 0
    scanned = {
        r["file_path"].lstrip("/")
        for kind in ("passed_checks", "failed_checks", "skipped_checks")
        for r in checkov_report["results"].get(kind, [])
    }
    for name in ("modules/storage.bicep", "modules/keyvault.bicep", "modules/function.bicep"):
        assert name in scanned, f"checkov did not scan {name}"


def test_checkov_reports_no_failed_checks(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['resource']}, {c['file_path']})"
        for c in checkov_report["results"].get("failed_checks", [])
    ]
    assert checkov_report["summary"]["failed"] == 0, "\n".join(failed)
    assert failed == []


def test_every_skip_is_justified_inline_and_still_needed(checkov_report: dict[str, Any]) -> None:
    inline: dict[str, str] = {}
    for path in INFRA.rglob("*.bicep"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                match = SKIP_COMMENT.search(line)
                assert match, f"{path.name}: skip without 'ID: reason': {line.strip()}"
                assert len(match.group(2)) >= 30, f"{path.name}: reason too thin: {line.strip()}"
                inline[match.group(1)] = match.group(2)
    skipped = {c["check_id"] for c in checkov_report["results"].get("skipped_checks", [])}
    # Each inline skip suppresses a check checkov actually ran (no stale or mistyped ids).
    assert set(inline) == skipped
    for check in checkov_report["results"].get("skipped_checks", []):
        assert check["check_result"]["suppress_comment"] != "No comment provided"


def test_missing_tool_fails_with_the_fix() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"run \./test\.sh"):
        require_tool(REPO / ".tools" / "missing" / "bin" / "checkov")
