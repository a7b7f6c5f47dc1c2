"""Silences added by command (``chargeops silence add``) and kept in the state. No I/O.

Why in the state: in Azure the configuration is an app setting, so a maintenance window
written in YAML needs a redeploy. A stored silence is read by the same use cases that
read the YAML ones, per unit of work (``shared.app.compose.App.consumers``): the replay
and the Azure consumer functions honour it from the next message on. YAML silences stay
as they are; :func:`with_stored` returns the configuration with both.

A stored silence has the YAML silence's fields (``match``, ``starts``, ``ends``,
``comment``) plus an ``id`` to expire it by, an ``author`` and ``created_at``. Expiring
sets ``expired_at``, which ends it then (the record stays, so ``silence list --all`` and
``alerts explain`` can still say what held a condition back).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.config.loader import Config
from shared.notify.config import Match, Silence
from shared.timestamps import format_utc, parse_utc

__all__ = ["StoredSilence", "from_record", "new_id", "state_of", "to_record", "with_stored"]

log = logging.getLogger("chargeops.silences")


@dataclass(frozen=True, slots=True)
class StoredSilence:
    id: str
    match: dict[str, list[str]]  # Match fields as written (types, sites, chargers, ...)
    starts: datetime
    ends: datetime
    comment: str
    author: str
    created_at: datetime
    expired_at: datetime | None = None

    @property
    def effective_end(self) -> datetime:
        """When it stops covering: its end, or when it was expired if that is earlier."""
        if self.expired_at is not None and self.expired_at < self.ends:
            return self.expired_at
        return self.ends

    def expire(self, at: datetime) -> StoredSilence:
        return replace(self, expired_at=at)

    def as_silence(self) -> Silence:
        """The YAML model, so routing and the lifecycle need no second kind of silence.
        The comment names the silence, so a skipped delivery says which one."""
        comment = f"{self.comment or 'silence'} (silence {self.id}, by {self.author})"
        return Silence(
            match=Match.model_validate(self.match),
            starts=self.starts,
            ends=self.effective_end,
            comment=comment,
        )


def state_of(silence: StoredSilence, now: datetime) -> str:
    """``active``, ``pending`` (starts later) or ``expired`` at ``now``."""
    if silence.effective_end <= now:
        return "expired"
    return "pending" if silence.starts > now else "active"


def new_id(match: dict[str, Any], starts: datetime, ends: datetime, created: datetime) -> str:
    """Short and stable for one ``add`` (8 hex digits are enough for a state's silences)."""
    text = f"{sorted(match.items())}|{format_utc(starts)}|{format_utc(ends)}|{format_utc(created)}"
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def with_stored(config: Config, stored: list[StoredSilence]) -> Config:
    """The configuration with the stored silences after its own (the first match names
    the silence in a skip; YAML ones first, as before stored ones existed). Ones that
    were expired before they started are left out, and one that no longer validates is
    skipped with a warning rather than stopping every consumer."""
    extra = []
    for s in stored:
        if s.effective_end <= s.starts:
            continue
        try:
            extra.append(s.as_silence())
        except ValidationError as exc:  # e.g. an event type a later release renamed
            log.warning("stored silence %s ignored: %s", s.id, str(exc).splitlines()[0])
    if not extra:
        return config
    return config.model_copy(update={"silences": [*config.silences, *extra]})


def to_record(s: StoredSilence) -> dict[str, Any]:
    return {
        "id": s.id,
        "match": s.match,
        "starts": format_utc(s.starts),
        "ends": format_utc(s.ends),
        "comment": s.comment,
        "author": s.author,
        "created_at": format_utc(s.created_at),
        "expired_at": format_utc(s.expired_at) if s.expired_at else None,
    }


def from_record(d: dict[str, Any]) -> StoredSilence:
    return StoredSilence(
        id=str(d["id"]),
        match={k: list(v) for k, v in (d.get("match") or {}).items()},
        starts=parse_utc(d["starts"]),
        ends=parse_utc(d["ends"]),
        comment=str(d.get("comment") or ""),
        author=str(d.get("author") or ""),
        created_at=parse_utc(d["created_at"]),
        expired_at=parse_utc(d["expired_at"]) if d.get("expired_at") else None,
    )
