"""What the docs say about the deployment matches the deployment (issue 15, finding 5:
a reference to a page that does not exist, monthly report events said not to be
deployed, registry schedule advice against the deploy default). Each fact is read from
its source (infra/main.bicep, functions/*.py) and every place the docs state it must agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BICEP = (ROOT / "infra" / "main.bicep").read_text("utf-8")
FUNCTIONS = "\n".join(p.read_text("utf-8") for p in (ROOT / "functions").glob("*.py"))

# infra parameter -> the app setting it becomes (infra/modules/function.bicep)
SCHEDULES = {
    "registryRefreshSchedule": "REGISTRY_REFRESH_SCHEDULE",
    "offlineWatchdogSchedule": "OFFLINE_WATCHDOG_SCHEDULE",
    "uptimeReportSchedule": "UPTIME_REPORT_SCHEDULE",
}


def default_of(param: str) -> str:
    found = re.search(rf"^param {param} string = '([^']+)'", BICEP, re.MULTILINE)
    assert found, f"infra/main.bicep has no default for {param}"
    return found.group(1)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_page_a_doc_links_exists(doc: Path) -> None:
    text = doc.read_text("utf-8")
    linked = re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]+)?\)", text)
    named = re.findall(r"`([\w-]+\.md)`", text)
    missing = [
        name
        for name in {*linked, *named}
        if not (doc.parent / name).exists() and not (ROOT / "docs" / name).exists()
        and not (ROOT / name).exists()
    ]  # fmt: skip
    assert missing == [], f"{doc.name} refers to pages that do not exist: {missing}"


@pytest.mark.parametrize(("param", "setting"), SCHEDULES.items())
def test_schedules_in_the_docs_are_the_deploy_defaults(param: str, setting: str) -> None:
    value = default_of(param)
    stated = []
    for doc in DOCS:
        text = doc.read_text("utf-8")
        stated += [(doc.name, v) for v in re.findall(rf"`{param}` \| `([^`]+)`", text)]
        stated += [(doc.name, v) for v in re.findall(rf"%{setting}%` \(`([^`]+)`", text)]
        stated += [(doc.name, v) for v in re.findall(rf"{setting}=([0-9*/ ]+\*)", text)]
    assert stated, f"no page states the {setting} default"
    wrong = [(name, v) for name, v in stated if v.strip() != value]
    assert wrong == [], f"infra/main.bicep defaults {param} to {value!r}; the docs say {wrong}"


def test_every_timer_the_docs_describe_is_deployed() -> None:
    """azure.md's function table, and uptime.md's monthly events, name real triggers."""
    azure = (ROOT / "docs" / "azure.md").read_text("utf-8")
    timers = re.findall(r"^\| `(\w+)` \| timer `%(\w+)%`", azure, re.MULTILINE)
    assert {name for name, _ in timers} >= {"registry_refresh", "uptime_report"}
    for name, setting in timers:
        assert f"def {name}(" in FUNCTIONS, f"azure.md describes {name}, functions/ lacks it"
        assert f'schedule="%{setting}%"' in FUNCTIONS
    uptime = (ROOT / "docs" / "uptime.md").read_text("utf-8")
    if "## Monthly report events" in uptime:
        assert "`uptime_report`" in uptime
        assert "uptime_report" in {name for name, _ in timers}
