"""``chargeops replay --dry-run``: the whole replay, nothing sent, nothing changed.

The run works on a copy of the state (a temporary SQLite file: a copy of the SQLite
state when there is one, else empty, e.g. for ``--state table``), writes its files to
``OUT/dry-run/`` (never the real ``events.jsonl``/``deliveries.jsonl``), and its HTTP
client reaches no network: a local transport records each request, masked like
``chargeops render`` (``requests.jsonl``, one line per request with its target) and
answers as a vendor that accepts everything would, so multi-step sequences (Jira's
transitions, ServiceNow's read-before-resolve) show every request they would make.
``file://`` targets of the built-in default write under ``OUT/dry-run/outbox``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.adapters.http import OutboundRequest
from shared.commands.render import masked_request
from shared.config.loader import Config
from shared.notify.targets import Target, build_targets

__all__ = ["DryRun", "start"]

FOLDER = "dry-run"


@dataclass
class DryRun:
    """One dry run's places and what it saw."""

    out: Path  # OUT/dry-run
    source: str | None  # the SQLite state copied, if any
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chargeops-dry-")))
    sent: Counter[str] = field(default_factory=Counter)
    _targets: dict[str, Target] = field(default_factory=dict)

    def state_path(self) -> str:
        """A throwaway copy of the state (empty without an SQLite one to copy)."""
        copy = self.scratch / "state.sqlite3"
        if self.source is not None and Path(self.source).is_file():
            shutil.copyfile(self.source, copy)
            wal = Path(self.source + "-wal")  # committed pages not yet checkpointed
            if wal.is_file():
                shutil.copyfile(wal, str(copy) + "-wal")
        return str(copy)

    def client(self, config: Config) -> httpx.Client:
        """An HTTP client whose transport records and answers locally."""
        self._targets = build_targets(config)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "requests.jsonl").unlink(missing_ok=True)
        return httpx.Client(transport=httpx.MockTransport(self._answer))

    def _answer(self, request: httpx.Request) -> httpx.Response:
        name, target = self._target_of(str(request.url))
        body = request.content or None
        outbound = OutboundRequest(request.method, str(request.url), dict(request.headers), body)
        shown = masked_request(outbound, target) if target is not None else {"url": "***"}
        line = {"target": name, **shown}
        with (self.out / "requests.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.sent[name or "?"] += 1
        return httpx.Response(200, json=_accepting(request, self._close_names()))

    def _target_of(self, url: str) -> tuple[str | None, Target | None]:
        best: tuple[int, str | None, Target | None] = (-1, None, None)
        for name, target in self._targets.items():
            base = str(target.config.url).split("?")[0].rstrip("/")
            if url.startswith(base) and len(base) > best[0]:
                best = (len(base), name, target)
        return best[1], best[2]

    def _close_names(self) -> list[str]:
        return sorted(
            {str(getattr(t.config, "close_transition", "")) for t in self._targets.values()} - {""}
        )

    def report(self) -> str:
        """What would have been sent, per target."""
        lines = [f"dry run: nothing was sent; requests that would be: {self.out}/requests.jsonl"]
        for name in sorted(self._targets):
            lines.append(f"  {name}: {self.sent.get(name, 0)} request(s)")
        return "\n".join(lines)

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def start(state: str | None, out: Path) -> DryRun:
    """A dry run for ``--state`` (None: OUT/state.sqlite3) writing under OUT/dry-run."""
    source = state if state not in (None, "table") else None
    if state is None:
        source = str(out / "state.sqlite3")
    return DryRun(out / FOLDER, source)


def _accepting(request: httpx.Request, transitions: list[str]) -> dict[str, Any]:
    """One answer every target kind reads as success: each takes the keys it knows."""
    return {
        "ok": True,
        "status": "success",
        "message": "dry run",
        "ts": "0000000000.000100",
        "channel": "dry-run",
        "requestId": "dry-run",
        "id": "1",
        "key": "DRY-1",
        "issues": [],
        "tickets": [],
        "ticket": {"id": 1, "status": "open"},
        "result": {"sys_id": "dry-run", "number": "DRY-RUN", "state": "1"},
        "fields": {"status": {"name": "To Do", "statusCategory": {"key": "new"}}},
        "transitions": [
            {"id": str(i), "name": name, "to": {"name": name}}
            for i, name in enumerate(transitions, start=1)
        ],
    }
