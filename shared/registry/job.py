"""The registry refresh: a resumable job that lists the fleet within the API budget.

A cycle walks ``installations`` pages, then (only with ``zaptec.circuits``) the hierarchies
of new or changed sites, then ``chargers`` pages, then the hierarchies needed to place
chargers listed without an InstallationId (``orphans``), then ``finish`` (removals,
messaging check). The cursor lives in the store and is saved after every unit of work, so
a fleet larger than one run's budget (``run_limit``, or a 429 that outlasts it) continues
where it stopped on the next run. A lease in the same record lets one run work at a time;
a run that fails or is interrupted frees it, a killed or hung one holds it until its
deadline plus a minute, and a run that finds its lease taken stops without writing.

Each page's diff becomes ``registry.charger.added|removed|changed`` CloudEvents appended to
the event log, written with the records (``shared.registry.repo``) in one transaction.
Chargers whose reply carried IsOnline come back in ``RefreshResult.observations`` as
StateId -2 observations stamped with the fetch time: the caller feeds them through
``Ingest`` (the IsOnline cross-check of the offline logic). This job never calls the state
machine.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.config.loader import Config
from shared.events.log import EventLog
from shared.inbound.observations import Observation, StateId
from shared.registry import records as rec
from shared.registry.events import ADDED, CHANGED, REMOVED, charger_event
from shared.registry.messaging import MessagingReport, check_idle, check_messaging
from shared.registry.repo import RegistryRecords
from shared.timestamps import format_utc, parse_utc
from shared.zaptec.client import ZaptecClient
from shared.zaptec.config import ZaptecConfig
from shared.zaptec.errors import BudgetExhausted
from shared.zaptec.models import Charger, parse_charger, parse_installation

if TYPE_CHECKING:
    from shared.storage.base import Store

__all__ = ["RefreshResult", "refresh"]

FRESH_SHARE = 0.9  # younger than 90 % of refresh_interval is fresh: timer jitter allowance
log = logging.getLogger("chargeops.registry")
# a charger as listed, its site record, and site/circuit ids when a hierarchy placed it
Placed = tuple[Charger, dict[str, Any] | None, str | None, str | None]


@dataclass
class RefreshResult:
    """What one run did. ``status``: complete, partial, fresh or busy."""

    status: str
    cycle: str | None = None
    pages: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    events: int = 0
    chargers_seen: int = 0
    skipped_items: int = 0
    observations: list[Observation] = field(default_factory=list)
    resume_after: datetime | None = None
    calls: dict[str, int] = field(default_factory=dict)
    cycle_list_calls: int | None = None  # list calls the completed cycle took, all runs
    messaging: MessagingReport | None = None
    idle: MessagingReport | None = None
    budget: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-able summary (observations counted, not listed)."""
        return {
            "status": self.status,
            "cycle": self.cycle,
            "pages": self.pages,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "events": self.events,
            "chargers_seen": self.chargers_seen,
            "skipped_items": self.skipped_items,
            "is_online_observations": len(self.observations),
            "resume_after": format_utc(self.resume_after) if self.resume_after else None,
            "calls": self.calls,
            "cycle_list_calls": self.cycle_list_calls,
            "messaging": self.messaging.as_json() if self.messaging else None,
            "idle": self.idle.as_json() if self.idle else None,
        }


class _LeaseLost(Exception):
    """Another run took the job over (our lease had lapsed)."""


def refresh(
    config: Config | ZaptecConfig,
    store: Store,
    client: ZaptecClient,
    now: datetime,
    *,
    force: bool = False,
    deadline: datetime | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> RefreshResult:
    """Run (or continue) a refresh cycle until done, out of budget, or past ``deadline``.

    Skips when the last complete cycle is fresh, unless ``force``. ``deadline`` defaults
    to ``now + zaptec.run_limit``. ``progress(phase, list_pages_done, pages_in_phase)``
    is called after each unit of work (the CLI shows it; a big fleet takes minutes).
    """
    zc = config.zaptec if isinstance(config, Config) else config
    until = (deadline or now + zc.run_limit).timestamp()
    run = _Run(zc, store, client, until)
    run.progress = progress
    return run.execute(now, force)


class _Run:
    def __init__(self, zc: ZaptecConfig, store: Store, client: ZaptecClient, until: float):
        self.zc, self.store, self.client, self.until = zc, store, client, until
        self.records, self.events = RegistryRecords(store), EventLog(store)
        self.owner = uuid.uuid4().hex
        self.version: str | None = None
        self.job: dict[str, Any] = {}
        self.result = RefreshResult("complete")
        self._spent_before = dict(client.limiter.spent)
        self.progress: Callable[[str, int, int | None], None] | None = None
        self.phase_pages: int | None = None

    def execute(self, now: datetime, force: bool) -> RefreshResult:
        self.job, self.version = self.records.job()
        self.result.idle = check_idle(self.zc, self.store, now)
        if not self.job.get("cycle") and not force and self._fresh(now):
            return self._finish_result("fresh")
        lease = self.job.get("lease") or {}
        if lease.get("owner") not in (None, self.owner) and lease.get("until", 0) > self._now():
            return self._finish_result("busy")
        if not self.job.get("cycle"):
            self.job = {
                "cycle": uuid.uuid4().hex[:12],
                "phase": "installations",
                "page": 0,
                "started_at": format_utc(now),
                "list_calls": 0,
                "last": self.job.get("last"),
            }
        self.job["lease"] = {"owner": self.owner, "until": self.until + 60}
        try:
            self._save()
        except _LeaseLost:
            return self._finish_result("busy")
        self.result.cycle = self.job["cycle"]
        status = "complete"
        try:
            while self.job.get("phase"):
                getattr(self, f"_{self.job['phase']}")()
                if self.progress is not None:
                    phase = str(self.job.get("phase") or "done")
                    self.progress(phase, self.result.pages, self.phase_pages)
        except BudgetExhausted as exc:
            status = "partial"
            self.result.resume_after = datetime.fromtimestamp(exc.retry_at, UTC)
            log.info("registry refresh paused: %s; resumes from the stored cursor", exc)
        except _LeaseLost:
            return self._finish_result("busy")
        except BaseException:  # API failure, Ctrl-C, SIGTERM: keep the cursor, free the lease
            self._release()
            raise
        self._release()
        return self._finish_result(status)

    # -- phases: each call does one unit of work and saves the cursor ------------------

    def _installations(self) -> None:
        page = self.client.installations_page(self.job["page"], deadline=self.until)
        at = self._at()
        found = [i for i in map(parse_installation, page.items) if i is not None]
        self.result.skipped_items += len(page.items) - len(found)
        old = self.records.sites_by_id([i.id for i in found])
        sites = {i.id: rec.site_record(i, self.job["cycle"], at, old.get(i.id)) for i in found}
        with self.records.transaction():
            self.records.put_sites(sites)
            self._next_page(
                page.pages, len(page.items), "hierarchy" if self.zc.circuits else "chargers"
            )

    def _hierarchy(self) -> None:
        due = [k for k, site in self.records.sites() if self._due(site)]
        for site_id in due:
            self._fetch_hierarchy(site_id)
        self._advance("chargers")

    def _chargers(self) -> None:
        page = self.client.chargers_page(self.job["page"], deadline=self.until)
        fetched = self._now()
        found = [c for c in map(parse_charger, page.items) if c is not None]
        self.result.skipped_items += len(page.items) - len(found)
        sites = self.records.sites_by_id(
            sorted({c.installation_id for c in found if c.installation_id})
        )
        placed: list[Placed] = []
        orphans: dict[str, dict[str, Any]] = {}
        stored_trees = None
        for c in found:
            if c.installation_id:
                placed.append((c, sites.get(c.installation_id), None, None))
                continue
            if stored_trees is None:
                stored_trees = [site for _, site in self.records.sites()]
            where = rec.placement(stored_trees, c.id)
            if where is None:
                orphans[c.id] = asdict(c)
                continue
            site_value = next(s for s in stored_trees if s["site_id"] == where[0])
            placed.append((c, site_value, where[0], where[1]))
        self._observe(found, fetched)
        with self.records.transaction():
            self._write(placed, fetched)
            self.records.put_orphans(orphans)
            self._next_page(page.pages, len(page.items), "orphans")

    def _orphans(self) -> None:
        waiting = self.records.orphans()
        if waiting:
            sites = [site for _, site in self.records.sites()]
            for site in sites:
                if all(rec.placement(sites, k) for k in waiting):
                    break
                if site.get("seen_cycle") == self.job["cycle"] and (
                    site.get("hierarchy_due") or site.get("circuits") is None
                ):
                    site.update(self._fetch_hierarchy(site["site_id"]))
            by_id = {s["site_id"]: s for s in sites}
            placed: list[Placed] = []
            for key, value in waiting.items():
                where = rec.placement(sites, key)
                if where is None:  # in no hierarchy we can read: keep it, without a site
                    placed.append((Charger(**value), None, None, None))
                else:
                    placed.append((Charger(**value), by_id.get(where[0]), where[0], where[1]))
            with self.records.transaction():
                self._write(placed, self._now())
                for key in waiting:
                    self.records.delete_orphan(key)
                self._save()
        self._advance("finish")

    def _finish(self) -> None:
        cycle, checks = self.job["cycle"], 0
        stale = [r for _, r in self.records.chargers() if r.get("seen_cycle") != cycle]
        for old in stale:
            if checks < self.zc.removal_checks:
                checks += 1
                alive = self.client.charger(old["charger_id"], background=True, deadline=self.until)
                if alive is not None:
                    site = self.records.site(alive.installation_id or "")
                    with self.records.transaction():
                        self._write([(alive, site, None, None)], self._now())
                        self._save()
                    continue
            elif not old.get("missing_since"):  # unchecked: gone from two cycles first
                self.records.put_charger(old["charger_id"], {**old, "missing_since": self._at()})
                continue
            self._remove(old)
        for key, site in list(self.records.sites()):
            if site.get("seen_cycle") != cycle:
                self.records.delete_site(key)
        now = datetime.fromtimestamp(self._now(), UTC)
        self.result.messaging = check_messaging(self.zc, self.store, self.client, now)
        self.result.cycle_list_calls = int(self.job.get("list_calls", 0))
        self.job = {
            "last": {
                "cycle": cycle,
                "started_at": self.job["started_at"],
                "completed_at": format_utc(now),
                "list_calls": self.result.cycle_list_calls,
                "chargers": self.records.charger_count(),
            },
            "lease": self.job.get("lease"),
        }
        self._save()

    # -- helpers -----------------------------------------------------------------------

    def _write(self, placed: list[Placed], fetched: float) -> None:
        """Records and their change events for chargers seen now (inside a transaction)."""
        at_dt = datetime.fromtimestamp(fetched, UTC)
        at = format_utc(at_dt)
        old = self.records.chargers_by_id([p[0].id for p in placed])
        items: dict[str, dict[str, Any]] = {}
        events: list[dict[str, Any]] = []
        for charger, site, site_id, circuit_id in placed:
            before = old.get(charger.id)
            record = rec.charger_record(
                charger, site, self.job["cycle"], at, before, site_id=site_id, circuit_id=circuit_id
            )
            items[charger.id] = record
            diff = rec.changes(before, record)
            if before is None:
                events.append(self._event(ADDED, record, at_dt))
                self.result.added += 1
            elif diff:
                events.append(self._event(CHANGED, record, at_dt, diff))
                self.result.changed += 1
        self.result.chargers_seen += len(items)
        self.result.events += len(self.events.append(events))
        self.records.put_chargers(items)

    def _remove(self, old: dict[str, Any]) -> None:
        at = datetime.fromtimestamp(self._now(), UTC)
        with self.records.transaction():
            self.result.events += len(self.events.append([self._event(REMOVED, old, at)]))
            self.records.delete_charger(old["charger_id"])
            self._save()
        self.result.removed += 1

    def _event(
        self, kind: str, record: dict[str, Any], at: datetime, diff: Any = None
    ) -> dict[str, Any]:
        return charger_event(kind, record, self.job["cycle"], at, diff)

    def _observe(self, chargers: list[Charger], fetched: float) -> None:
        at = datetime.fromtimestamp(fetched, UTC)
        for c in chargers:
            if c.is_online is not None:
                value = "1" if c.is_online else "0"
                self.result.observations.append(
                    Observation(
                        c.id,
                        StateId.IS_ONLINE,
                        at,
                        value,
                        serial=c.serial,
                        device_type=c.device_type,
                    )
                )

    def _fetch_hierarchy(self, site_id: str) -> dict[str, Any]:
        tree = self.client.hierarchy(site_id, deadline=self.until)
        stored = self.records.site(site_id)
        site = rec.with_hierarchy(stored if stored is not None else {"site_id": site_id}, tree)
        with self.records.transaction():
            self.records.put_site(site_id, site)
            self._save()
        return site

    def _due(self, site: dict[str, Any]) -> bool:
        return bool(site.get("hierarchy_due")) and site.get("seen_cycle") == self.job["cycle"]

    def _next_page(self, pages: int | None, items: int, then: str) -> None:
        self.result.pages += 1
        self.phase_pages = pages
        self.job["list_calls"] = int(self.job.get("list_calls", 0)) + 1
        self.job["page"] += 1
        more = self.job["page"] < pages if pages is not None else items >= self.zc.page_size
        if not more:
            self.job["phase"], self.job["page"] = then, 0
        self._save()

    def _advance(self, phase: str) -> None:
        self.job["phase"], self.job["page"] = phase, 0
        self._save()

    def _save(self) -> None:
        self.job["lease"] = {"owner": self.owner, "until": self.until + 60}
        version = self.records.save_job(self.job, self.version)
        if version is None:
            raise _LeaseLost
        self.version = version

    def _release(self) -> None:
        self.job["lease"] = None
        version = self.records.save_job(self.job, self.version)
        if version is not None:  # else taken over: nothing to release
            self.version = version

    def _fresh(self, now: datetime) -> bool:
        last = self.job.get("last") or {}
        if not last.get("started_at"):
            return False
        age = now - parse_utc(last["started_at"])
        return age < self.zc.refresh_interval * FRESH_SHARE

    def _finish_result(self, status: str) -> RefreshResult:
        self.result.status = status
        self.result.calls = {
            k: v - self._spent_before.get(k, 0)
            for k, v in self.client.limiter.spent.items()
            if v - self._spent_before.get(k, 0)
        }
        self.result.budget = self.client.limiter.snapshot()
        if status in ("complete", "partial"):
            log.info("registry refresh %s: %s", status, self.result.summary())
        return self.result

    def _now(self) -> float:
        return self.client.clock.now()

    def _at(self) -> str:
        return format_utc(datetime.fromtimestamp(self._now(), UTC))
