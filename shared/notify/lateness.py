"""No stale pages: what to do with an open that could not be delivered while its
condition lasted.

When a target was down or throttling, its outbox holds a condition's open and, by the
time the target answers again, its close too. Sending both back to back pages on-call
for a charger that recovered hours ago. Alertmanager sends a group's current state, so a
late notification becomes resolve-only; its Jira notifier creates no issue for an alert
already resolved. Here, per kind:

- pagers and chats (PagerDuty, Opsgenie, Teams, Slack): the open and any reminder are
  skipped (recorded with the reason); the close still goes (resolve-only: harmless when
  nothing was triggered, and it clears a trigger whose answer was lost);
- ticket systems (Jira, ServiceNow, Zendesk) follow their ``ended_before_sent``:
  ``record`` creates and closes the ticket as usual; ``skip`` (the default) makes none,
  unless an earlier attempt may have made one already: then the open only looks it up
  (``find_only``) and the close closes what it found.
- webhooks get everything (machines keep the record).

"Could not be delivered" means an attempt failed and was recorded: a replay that meets
a whole episode within one batch sends both, as the live system would have at the time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from shared.notify.outbox import DeliveryLog
from shared.notify.stages import Job, Result
from shared.notify.targets import Target

__all__ = ["Stale"]


@dataclass(frozen=True, slots=True)
class Stale:
    """Decides the notices of conditions that ended before their open got through."""

    log: DeliveryLog
    targets: dict[str, Target]

    def __call__(self, jobs: Iterable[Job], /) -> list[Job]:
        batch = list(jobs)
        closes = {
            (job.target, job.notice.context.get("open_key")): job
            for job in batch
            if job.result is None and job.notice.action == "close"
        }
        # Opens first: a close is decided by what became of its open in this batch.
        opens: dict[tuple[str, str], Job] = {}
        for job in batch:
            if job.result is None and job.notice.action == "open":
                opens[(job.target, job.key)] = self._open(job, closes.get((job.target, job.key)))
        decided = []
        for job in batch:
            if job.result is None and job.notice.action == "open":
                decided.append(opens[(job.target, job.key)])
                continue
            later = self._later(job, opens)
            if later is not None:
                decided.append(later)
        return decided

    def _open(self, job: Job, close: Job | None) -> Job:
        """An open whose close is also waiting, after an attempt at the open failed."""
        if close is None or not self.log.failed(job.key):
            return job
        target = self.targets[job.target]
        ended = (close.notice.context.get("alert") or {}).get("ended_at") or "an earlier time"
        if target.pages:
            return _skip(job, f"condition ended at {ended} before this open could be "
                         "delivered: not paged")  # fmt: skip
        if not target.needs_ref or target.ended_before_sent != "skip":
            return job
        if self.log.maybe_sent(job.key):
            return _with(job, find_only=True)
        return _skip(
            job,
            f"condition ended at {ended} before its ticket could be created: no ticket "
            "(ended_before_sent: skip)",
        )

    def _later(self, job: Job, opens: dict[tuple[str, str], Job]) -> Job | None:
        """A reminder or close: follows what its open became (here, or in an earlier run).
        None (left in the outbox, untouched) while its open waits outside this batch (a
        breaker cooling off holds it back): a close never overtakes its open, or the open
        would later page for a condition already over."""
        notice = job.notice
        if job.result is not None or notice.action not in ("close", "reminder"):
            return job
        target = self.targets[job.target]
        open_key = str(notice.context.get("open_key") or "")
        opened = opens.get((job.target, open_key))
        if opened is None and open_key and self.log.is_pending(open_key):
            return None
        if opened is None:
            record = self.log.get(open_key) or {} if open_key else {}
            if target.needs_ref and record.get("status") == "skipped":
                why = record.get("error") or "its open was skipped"
                return _skip(job, f"no ticket to {notice.action}: {why}")
            return job
        if opened.result is not None:  # skipped as stale just now
            if notice.action == "close" and not target.needs_ref:
                return job  # resolve-only
            reason = opened.result.error or "its open was skipped"
            return _skip(job, f"no {notice.action}: {reason}")
        if opened.notice.context.get("find_only"):
            if notice.action == "reminder":
                return _skip(job, "no reminder: the condition already ended")
            return _with(job, stale_close=True)
        return job


def _skip(job: Job, reason: str) -> Job:
    return replace(job, result=Result("skipped", error=reason))


def _with(job: Job, **context: object) -> Job:
    notice = job.notice
    return replace(job, notice=replace(notice, context={**notice.context, **context}))
