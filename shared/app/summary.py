"""The replay summary: counts for humans (stdout) and for scripts (``--json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.app.ingest_unit import IngestCounts

__all__ = ["Summary"]


@dataclass
class Summary:
    read: int
    accepted: int
    ignored: dict[str, int]
    rejected: dict[str, int]
    events: dict[str, int]
    deliveries: dict[str, dict[str, int]]
    pending_deliveries: int
    seconds: float
    out: str
    state: str
    extra: dict[str, Any] = field(default_factory=dict)
    # finance records this run made that a human should check first: total, by reason code
    under_review: int = 0
    review_reasons: dict[str, int] = field(default_factory=dict)
    # the peak of the consumers' own process (``replay`` on two cores), None without one
    consumers_peak_rss_mb: float | None = None

    @classmethod
    def of_run(
        cls,
        counts: IngestCounts,
        deliveries: dict[str, dict[str, int]],
        *,
        pending: int,
        seconds: float,
        out: Path,
        state: str,
    ) -> Summary:
        return cls(
            read=counts.read,
            accepted=counts.accepted,
            ignored=dict(sorted(counts.ignored.items())),
            rejected=dict(sorted(counts.rejected.items())),
            events=dict(sorted(counts.events.items())),
            deliveries={t: dict(sorted(c.items())) for t, c in sorted(deliveries.items())},
            pending_deliveries=pending,
            seconds=seconds,
            out=str(out),
            state=state,
        )

    @property
    def peak_rss_mb(self) -> float | None:
        return _peak_rss_mb()

    def as_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "ignored": sum(self.ignored.values()),
            "rejected": sum(self.rejected.values()),
            "events": self.events,
            "deliveries": self.deliveries,
            "accepted": self.accepted,
            "ignored_by_reason": self.ignored,
            "rejected_by_reason": self.rejected,
            "pending_deliveries": self.pending_deliveries,
            "seconds": round(self.seconds, 3),
            "messages_per_second": round(self.read / self.seconds) if self.seconds > 0 else None,
            "peak_rss_mb": self.peak_rss_mb,
            "consumers_peak_rss_mb": self.consumers_peak_rss_mb,
            "out": self.out,
            "state": self.state,
            "records_under_review": {
                "total": self.under_review,
                "by_reason": dict(sorted(self.review_reasons.items())),
            },
            **self.extra,
        }

    def as_text(self) -> str:
        lines = [
            f"messages read     {self.read:>10,}",
            f"  accepted        {self.accepted:>10,}",
            f"  ignored         {sum(self.ignored.values()):>10,}" + _breakdown(self.ignored),
            f"  rejected        {sum(self.rejected.values()):>10,}" + _breakdown(self.rejected),
            f"events            {sum(self.events.values()):>10,}",
        ]
        lines += [f"  {t:<28}{n:>6,}" for t, n in self.events.items()]
        total = sum(sum(v.values()) for v in self.deliveries.values())
        lines.append(f"deliveries        {total:>10,}")
        for target, statuses in self.deliveries.items():
            parts = ", ".join(f"{s} {n:,}" for s, n in statuses.items())
            lines.append(f"  {target:<28}{parts}")
        if self.under_review:
            lines.append(
                f"finance records under review {self.under_review:>4,}"
                + _breakdown(dict(sorted(self.review_reasons.items())))
            )
        if self.pending_deliveries:
            lines.append(f"  pending, retried on the next run: {self.pending_deliveries:,}")
        rate = f" ({self.read / self.seconds:,.0f} msgs/s)" if self.seconds > 0 else ""
        lines.append(f"took {self.seconds:.2f} s{rate}; output in {self.out}/")
        return "\n".join(lines)


def _breakdown(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    return "  (" + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ")"


def _peak_rss_mb() -> float | None:
    """This process's own peak resident memory (Linux VmHWM). Not getrusage: a child
    started by fork/vfork inherits its parent's high-water mark in ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
