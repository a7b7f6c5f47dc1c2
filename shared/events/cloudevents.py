"""The one builder of CloudEvents 1.0 structured-mode JSON objects.

Every event chargeops makes (charger and session events, registry changes, messaging
alerts, finance records, uptime reports, site alerts, render's samples) is built here, so
they all carry the same attributes in the same order. The order and values are part of
the contract: the event log stores these dicts as JSON, replay writes them to
``events.jsonl`` and our topic carries them byte for byte, so a change here is a change
to every consumer's input. Ids are the caller's (``shared.events.model.event_id``:
deterministic over the facts that define the event).

The type must be in the event catalogue (``shared.events.catalogue``), so an event type
nobody routes, filters or documents cannot be emitted by mistake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.catalogue import is_known
from shared.timestamps import format_utc

__all__ = ["CONTENT_TYPE", "REQUIRED", "SPEC_VERSION", "charger_source", "envelope"]

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"  # of ``data``; the message itself is cloudevents+json
REQUIRED = ("specversion", "id", "source", "type")  # CloudEvents 1.0 required attributes


def envelope(
    *,
    type: str,  # the CloudEvents attribute names, shadowing builtins on purpose
    id: str,
    source: str,
    subject: str,
    time: datetime | str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """A CloudEvent: ``specversion, id, source, type, subject, time, datacontenttype,
    data`` in that order. ``time`` as a datetime is written as RFC 3339 UTC
    (``format_utc``); a string is taken as already formatted. ``data`` is used as given
    (not copied)."""
    if not is_known(type):
        raise ValueError(f"event type {type!r} is not in the event catalogue")
    return {
        "specversion": SPEC_VERSION,
        "id": id,
        "source": source,
        "type": type,
        "subject": subject,
        "time": time if isinstance(time, str) else format_utc(time),
        "datacontenttype": CONTENT_TYPE,
        "data": data,
    }


def charger_source(charger_id: str, site_id: str | None, vendor: str = "zaptec") -> str:
    """``<vendor>/installation/<site>`` when the charger has a site, else
    ``<vendor>/charger/<charger>``: the source of events about one charger."""
    return f"{vendor}/installation/{site_id}" if site_id else f"{vendor}/charger/{charger_id}"
