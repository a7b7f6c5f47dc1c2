"""Service Bus health from the API side: changed credentials and the 14-day idle removal.

Zaptec can change the bus host and keys (zaptec.md pitfall 6) and deletes a subscription
unused for 14 days (pitfall 4). The details check fetches the connection details, keeps
only a SHA-256 of them (never the key) and alerts when the hash changes. The idle check
reads the newest bus message time (``meta/last_message``, which ingest advances through
``MessagingRecords.note_message``) and alerts once per idle period when it is older than
``zaptec.messaging_idle_alert``. Alerts are ``registry.messaging.changed`` /
``registry.messaging.idle`` events in the event log. The records live in
``shared.registry.repo``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.events.log import EventLog
from shared.registry.events import MESSAGING_CHANGED, MESSAGING_IDLE, messaging_event
from shared.registry.repo import MessagingRecords
from shared.timestamps import format_utc
from shared.zaptec.config import ZaptecConfig
from shared.zaptec.errors import ZaptecError

if TYPE_CHECKING:
    from shared.storage.base import Store
    from shared.zaptec.client import ZaptecClient

__all__ = ["MessagingReport", "check_idle", "check_messaging"]

_REMOVAL = timedelta(days=14)
log = logging.getLogger("chargeops.registry")


@dataclass(frozen=True, slots=True)
class MessagingReport:
    """``status``: changed, unchanged, first_seen, unavailable, error | idle, active, unknown."""

    status: str
    detail: dict[str, Any]
    alerted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "alerted": self.alerted, **self.detail}


def check_messaging(
    config: ZaptecConfig, store: Store, client: ZaptecClient, now: datetime
) -> MessagingReport | None:
    """Compare the current connection details with the stored hash; None if not configured."""
    if not (config.user_group_id or config.installation_id):
        return None
    scope = (
        f"usergroup/{config.user_group_id}"
        if config.user_group_id
        else f"installation/{config.installation_id}"
    )
    try:
        details = client.messaging_details(
            user_group_id=config.user_group_id, installation_id=config.installation_id
        )
    except ZaptecError as exc:
        log.warning("messaging connection details check failed: %s", exc)
        return MessagingReport("error", {"scope": scope, "error": str(exc)})
    if details is None:
        return MessagingReport("unavailable", {"scope": scope})
    digest = _hash(details)
    public = {
        "scope": scope,
        "host": details.get("Host"),
        "topic": details.get("Topic"),
        "subscription": details.get("Subscription"),
    }
    records = MessagingRecords(store)
    previous = records.details()
    record = {**public, "hash": digest, "checked_at": format_utc(now)}
    if previous is None:
        records.put_details({**record, "changed_at": format_utc(now)})
        return MessagingReport("first_seen", public)
    if previous.get("hash") == digest:
        records.put_details({**record, "changed_at": previous.get("changed_at")})
        return MessagingReport("unchanged", public)
    data = {**public, "previous_host": previous.get("host"), "changed_at": format_utc(now)}
    event = messaging_event(MESSAGING_CHANGED, scope, digest, now, data)
    with records.transaction():
        EventLog(store).append([event])
        records.put_details({**record, "changed_at": format_utc(now)})
    log.warning("Zaptec Service Bus connection details changed (%s)", scope)
    return MessagingReport("changed", data, alerted=True)


def check_idle(config: ZaptecConfig, store: Store, now: datetime) -> MessagingReport:
    """Alert once when the last bus message is older than ``messaging_idle_alert``."""
    last = MessagingRecords(store).last_message_at()
    if last is None:
        return MessagingReport("unknown", {"last_message_at": None})
    idle = now - last
    detail = {
        "last_message_at": format_utc(last),
        "idle_days": round(idle / timedelta(days=1), 2),
        "removal_expected_at": format_utc(last + _REMOVAL),
    }
    if idle < config.messaging_idle_alert:
        return MessagingReport("active", detail)
    event = messaging_event(MESSAGING_IDLE, "subscription", format_utc(last), now, detail)
    added = EventLog(store).append([event])
    if added:
        log.warning("no Zaptec bus message since %s: subscription may be removed", last)
    return MessagingReport("idle", detail, alerted=bool(added))


def _hash(details: dict[str, Any]) -> str:
    text = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
