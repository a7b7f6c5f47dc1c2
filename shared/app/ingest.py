"""The ingest use case: a batch of inbound messages -> charger state -> committed events
-> our topic. The Azure ``ingest`` function and ``chargeops replay`` both run this.

Zaptec's subscription is vendor-owned and its dead-letter queue is not ours, so a batch
does the least that can fail and raises only when the store itself fails (then nothing
is lost: Zaptec redelivers and every step is idempotent). A message that cannot be
decoded or applied becomes a rejection with its reason, never a raise; with an unusable
configuration the batch is parked (``shared.app.parking``) for the watchdog; if our topic
is unreachable the events wait in the store for the next publish.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.app.compose import App
from shared.app.ingest_unit import Ingest
from shared.app.parking import park
from shared.config.loader import ConfigError
from shared.inbound.envelope import Inbound
from shared.inbound.observations import Decoded, Observation, Rejection
from shared.registry.repo import MessagingRecords, WantedLookups
from shared.registry.view import RegistryView
from shared.storage.base import Conflict, TooLarge
from shared.timestamps import format_utc

__all__ = [
    "DATA_ERRORS",
    "BatchResult",
    "commit_contained",
    "decode_all",
    "feed",
    "ingest_batch",
    "note_unknown",
    "publish",
]

log = logging.getLogger("chargeops.ingest")
CONFLICT_RETRIES = 5
CONFLICT_BACKOFF = 0.05  # seconds; doubled per attempt, jittered


@dataclass(frozen=True, slots=True)
class BatchResult:
    messages: int
    rejected: int
    events: int
    parked: bool = False


def ingest_batch(
    app: App,
    batch: Sequence[Inbound],
    unit: Ingest | None = None,
    decoded: Sequence[Decoded] | None = None,
) -> BatchResult:
    """Decode, track state, commit (state, events and rejections together), publish.

    ``unit`` is the ingest unit of work to use: a replay keeps one for the whole run (its
    data clock and cached states carry over); Azure takes a fresh one per batch.
    ``decoded``: the batch already decoded (a replay screens it first)."""
    if not batch:
        return BatchResult(0, 0, 0)
    if unit is None:
        try:
            unit = app.ingest_unit()
        except ConfigError as exc:
            park(app, batch, f"configuration: {exc}")
            return BatchResult(len(batch), 0, 0, parked=True)
    if decoded is None:
        decoded = decode_all(batch)
    note_unknown(app, decoded)
    before = sum(unit.counts.rejected.values())
    added = commit_contained(unit, batch, decoded)
    enqueued = [m.enqueued_at for m in batch if m.enqueued_at]
    if enqueued:  # the registry's idle check reads it (Zaptec deletes idle subscriptions)
        MessagingRecords(app.store).note_message(max(enqueued))
    rejected = sum(unit.counts.rejected.values()) - before
    app.counters.messages(len(batch) - rejected, "ingest", "accepted")
    app.counters.messages(rejected, "ingest", "rejected")
    for _, event in added:
        app.counters.events(event["type"])
    publish(app, new_events=bool(added))
    log.info("ingest: %d messages, %d rejected, %d new events", len(batch), rejected, len(added))
    return BatchResult(len(batch), rejected, len(added))


def commit_with_retry(
    unit: Ingest, batch: Sequence[Inbound], decoded: Sequence[Decoded]
) -> list[tuple[int, dict[str, Any]]]:
    """Apply and commit; another instance writing the same charger first is a Conflict,
    and running the batch again on fresh state is idempotent, so retry here rather than
    make Zaptec redeliver (its dead-letter queue is not ours)."""
    counted = copy.deepcopy(unit.counts)
    for attempt in range(1, CONFLICT_RETRIES + 1):
        feed(unit, batch, decoded)
        try:
            return unit.commit()
        except Conflict:
            unit.abandon()
            unit.counts = copy.deepcopy(counted)  # the retry counts the batch afresh
            log.info("ingest: another instance wrote first; attempt %d again", attempt)
            if attempt == CONFLICT_RETRIES:
                raise
            # Jittered back-off: instances that collided retry apart instead of in step.
            time.sleep(random.uniform(0, CONFLICT_BACKOFF * 2**attempt))
    raise AssertionError("unreachable")


# What a message's own data can make a commit raise (a value that cannot be encoded):
# found by splitting like an oversized one. A store outage is none of these: it raises.
DATA_ERRORS = (
    TypeError,
    ValueError,
    UnicodeError,
    OverflowError,
    RecursionError,
    ArithmeticError,
    KeyError,
    AttributeError,
    IndexError,
)


def commit_contained(
    unit: Ingest, batch: Sequence[Inbound], decoded: Sequence[Decoded]
) -> list[tuple[int, dict[str, Any]]]:
    """``commit_with_retry``, but a batch whose records outgrow what the store holds
    (Table Storage: 1 MiB an entity) is split in halves and each committed on its own, so
    one message can never block the rest of its batch (Zaptec would redeliver all of it
    into its dead-letter queue). A single message still too large is rejected as
    ``too_large`` and recorded; one whose data the store cannot encode as
    ``internal_error``. The store checks sizes before it writes, and every write
    is idempotent, so what a failed half wrote is simply written again.

    A replay's unit keeps its states in memory between batches and cannot take part of a
    batch back; its store (SQLite) has no such limit, so it never splits."""
    counted = copy.deepcopy(unit.counts)
    try:
        return commit_with_retry(unit, batch, decoded)
    except (TooLarge, *DATA_ERRORS) as exc:
        unit.abandon()
        unit.counts = copy.deepcopy(counted)
        if unit.data_clock:
            raise
        if len(batch) == 1:
            log.warning("ingest: message %s cannot be stored: %s", batch[0].ref(), exc)
            refused = (
                Rejection("too_large", f"its records would not fit the store: {exc}"[:300])
                if isinstance(exc, TooLarge)
                else Rejection("internal_error", f"commit: {type(exc).__name__}: {exc}"[:300])
            )
            return commit_with_retry(unit, batch, [refused])
        half = len(batch) // 2
        first = commit_contained(unit, batch[:half], decoded[:half])
        return first + commit_contained(unit, batch[half:], decoded[half:])


def decode_all(batch: Sequence[Inbound]) -> list[Decoded]:
    """Every message decodes to something; a decoder bug becomes a rejection, never a raise."""
    out: list[Decoded] = []
    for item in batch:
        try:
            out.append(item.decode())
        except Exception as exc:
            out.append(Rejection("internal_error", f"decode: {type(exc).__name__}: {exc}"[:300]))
    return out


def feed(unit: Ingest, batch: Sequence[Inbound], decoded: Sequence[Decoded]) -> None:
    """Every message becomes state, an ignored count or a rejection: none raises."""
    unit.prefetch(decoded)  # one read for the batch's states, not one per charger
    for message, item in zip(batch, decoded, strict=True):
        ref = message.ref()
        try:
            unit.feed(item, ref, message.source)
        except Exception as exc:
            log.exception("ingest could not apply message %s", _name(ref))
            detail = f"apply: {type(exc).__name__}: {exc}"[:300]
            unit.feed(Rejection("internal_error", detail), ref, message.source)
        if isinstance(item, Rejection):
            log.warning("rejected Zaptec message %s: %s (%s)", _name(ref), item.code, item.detail)


def _name(ref: dict[str, Any]) -> str:
    """A message's name in a log line: its message id, else its place in a capture."""
    return str(ref.get("message_id") or f"line {ref.get('line')}")


def note_unknown(app: App, decoded: Sequence[Decoded]) -> None:
    """Chargers the registry does not know yet are noted for the watchdog to look up
    (``shared.app.timers.lookups``): a batch never waits on Zaptec, whose slowness would
    cost the message lock and, after redeliveries, Zaptec's dead-letter queue. Their
    events carry site and name once the registry knows them. Best effort: never fails
    the batch."""
    if app.zaptec() is None:
        return  # no Zaptec credentials, or a dry run: nobody would look them up
    pairs = {d.charger_id: d.serial for d in decoded if isinstance(d, Observation)}
    if not pairs:
        return
    try:
        view = RegistryView(app.store)
        unknown = {cid: serial for cid, serial in pairs.items() if view.lookup(cid) is None}
        WantedLookups(app.store).want(unknown, format_utc(app.now()))
    except Exception as exc:
        log.warning("could not note unknown chargers (%s); the registry refresh finds them", exc)


def publish(app: App, *, new_events: bool = True) -> int:
    """Send committed events to our topic; a failure is logged and left for later."""
    result = app.topic.publish(new_events=new_events)
    app.counters.published(result.sent)
    return result.sent
