"""``ingest``: Zaptec's Service Bus subscription (a batch) -> state -> our topic.

Zaptec's subscription is vendor-owned and its dead-letter queue is not ours, so this
function does the least that can fail and raises only when the store itself fails (then
nothing is lost: Zaptec redelivers and every step is idempotent). A message that cannot
be decoded is recorded in the ``rejections`` log with its reason; with an unusable
configuration the whole batch is parked in the ``parked`` log for the watchdog; if our
topic is unreachable, the events wait in the store for the next publish.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import azure.functions as func

from functions.worker import Worker, current

if TYPE_CHECKING:
    from shared.app.ingest_unit import Ingest
    from shared.inbound.decode import Decoded

__all__ = ["Envelope", "bp", "handle_batch", "park", "unpark"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger("chargeops.ingest")
_BODY_KEPT = 4096  # bytes of a rejected body kept for inspection (base64 in the record)
_CONFLICT_RETRIES = 5


@bp.function_name("ingest")
@bp.service_bus_topic_trigger(
    arg_name="msgs",
    connection="ZAPTEC_SERVICEBUS",
    topic_name="%ZAPTEC_TOPIC%",
    subscription_name="%ZAPTEC_SUBSCRIPTION%",
    cardinality="many",
)
def ingest(msgs: list[func.ServiceBusMessage], context: func.Context) -> None:
    from shared.adapters.telemetry import correlate  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="ingest"):
        handle_batch(current(), [Envelope.of(m) for m in msgs])


@dataclass(frozen=True, slots=True)
class Envelope:
    """One Zaptec message, as far as ingest cares (also the replay capture's format)."""

    body: bytes
    message_id: str | None
    enqueued_at: datetime | None

    @classmethod
    def of(cls, msg: func.ServiceBusMessage) -> Envelope:
        enqueued = msg.enqueued_time_utc
        if enqueued is not None and enqueued.tzinfo is None:
            enqueued = enqueued.replace(tzinfo=UTC)
        return cls(msg.get_body(), msg.message_id or None, enqueued)

    @property
    def dedup(self) -> str:
        """Names the message in the rejection log (message id, else a body hash)."""
        if self.message_id:
            return self.message_id
        return "sha1:" + hashlib.sha1(self.body, usedforsecurity=False).hexdigest()

    def as_json(self) -> dict[str, Any]:
        from shared.timestamps import format_utc  # noqa: PLC0415

        return {
            "body_base64": base64.b64encode(self.body).decode("ascii"),
            "message_id": self.message_id,
            "enqueued_time_utc": format_utc(self.enqueued_at) if self.enqueued_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Envelope:
        from shared.timestamps import parse_utc  # noqa: PLC0415

        stamp = data.get("enqueued_time_utc")
        return cls(
            base64.b64decode(data["body_base64"]),
            data.get("message_id"),
            parse_utc(stamp) if isinstance(stamp, str) else None,
        )


def handle_batch(worker: Worker, batch: Sequence[Envelope]) -> None:
    """Decode, track state, commit (state, events and rejections: the outbox), publish."""
    from shared.config.loader import ConfigError  # noqa: PLC0415

    if not batch:
        return
    try:
        ingest = worker.ingest()
    except ConfigError as exc:
        park(worker, batch, f"configuration: {exc}")
        return
    decoded = decode_all(batch)
    look_up_unknown(worker, decoded)
    added = commit_with_retry(worker, ingest, batch, decoded)
    _mark_last_message(worker, batch)
    rejected = sum(ingest.counts.rejected.values())
    worker.counters.messages(len(batch) - rejected, "ingest", "accepted")
    worker.counters.messages(rejected, "ingest", "rejected")
    for _, event in added:
        worker.counters.events(event["type"])
    publish(worker)
    log.info("ingest: %d messages, %d rejected, %d new events", len(batch), rejected, len(added))


def commit_with_retry(
    worker: Worker, ingest: Ingest, batch: Sequence[Envelope], decoded: Sequence[Decoded]
) -> list[tuple[int, dict[str, Any]]]:
    """Apply and commit; another instance writing the same charger first is a Conflict,
    and running the batch again on fresh state is idempotent, so retry here rather than
    make Zaptec redeliver (its dead-letter queue is not ours)."""
    from shared.app.ingest_unit import IngestCounts  # noqa: PLC0415
    from shared.storage.base import Conflict  # noqa: PLC0415

    for attempt in range(1, _CONFLICT_RETRIES + 1):
        feed(ingest, batch, decoded)
        try:
            return ingest.commit()
        except Conflict:
            ingest.abandon()
            ingest.counts = IngestCounts()  # the retry counts the batch afresh
            log.info("ingest: another instance wrote first; attempt %d again", attempt)
            if attempt == _CONFLICT_RETRIES:
                raise
    raise AssertionError("unreachable")


def decode_all(batch: Sequence[Envelope]) -> list[Decoded]:
    """Every body decodes to something; a decoder bug becomes a rejection, never a raise."""
    from shared.inbound.decode import Rejection, decode_body  # noqa: PLC0415

    out: list[Decoded] = []
    for env in batch:
        try:
            out.append(decode_body(env.body, env.enqueued_at))
        except Exception as exc:
            out.append(Rejection("internal_error", f"decode: {type(exc).__name__}: {exc}"[:300]))
    return out


def look_up_unknown(worker: Worker, decoded: Sequence[Decoded]) -> None:
    """Chargers the registry does not know yet: one coalesced Zaptec lookup each, so their
    events carry site and name. Best effort: never fails the batch."""
    from shared.inbound.observations import Observation  # noqa: PLC0415

    client = worker.zaptec()
    if client is None:
        return
    pairs = {d.charger_id: d.serial for d in decoded if isinstance(d, Observation)}
    if not pairs:
        return
    try:
        from shared.registry.lookup import UnknownChargerLookup  # noqa: PLC0415
        from shared.registry.view import RegistryView  # noqa: PLC0415

        view = RegistryView(worker.store)
        unknown = [(cid, serial) for cid, serial in pairs.items() if view.lookup(cid) is None]
        if unknown:
            lookup = UnknownChargerLookup(worker.config().zaptec, worker.store, client, view)
            lookup.request_many(unknown)
    except Exception as exc:
        log.warning("unknown-charger lookup failed (%s); events go out without a site", exc)


def feed(
    ingest: Ingest, batch: Sequence[Envelope], decoded: Sequence[Decoded] | None = None
) -> None:
    """Every message becomes state, an ignored count or a rejection: none raises."""
    from shared.inbound.decode import Rejection  # noqa: PLC0415

    for env, item in zip(batch, decoded or decode_all(batch), strict=True):
        ref = _ref(env)
        try:
            ingest.feed(item, ref, env.dedup)
        except Exception as exc:
            log.exception("ingest could not apply message %s", env.message_id)
            ingest.feed(
                Rejection("internal_error", f"apply: {type(exc).__name__}: {exc}"[:300]),
                ref,
                env.dedup,
            )
        if isinstance(item, Rejection):
            log.warning(
                "rejected Zaptec message %s: %s (%s)", env.message_id, item.code, item.detail
            )


def publish(worker: Worker) -> None:
    """Send committed events to our topic; a failure is logged and left for later."""
    from shared.adapters.servicebus import publish_pending  # noqa: PLC0415

    try:
        sender = worker.sender()
    except Exception as exc:
        log.warning("our topic is unreachable (%s); events wait in the store", type(exc).__name__)
        return
    result = publish_pending(worker.store, sender)
    worker.counters.published(result.sent)


def park(worker: Worker, batch: Sequence[Envelope], reason: str) -> None:
    """Keep messages we cannot process now; the watchdog feeds them in once we can."""
    from shared.app.health import PARKED_LOG  # noqa: PLC0415

    worker.store.append(
        PARKED_LOG, [(env.dedup, {**env.as_json(), "reason": reason[:300]}) for env in batch]
    )
    worker.counters.messages(len(batch), "ingest", "parked")
    log.error("ingest parked %d messages: %s", len(batch), reason)


def unpark(worker: Worker, page: int = 500) -> int:
    """Feed parked messages through ingest (watchdog); returns how many were taken."""
    from shared.app.health import PARKED_CURSOR, PARKED_LOG  # noqa: PLC0415

    entry = worker.store.get(*PARKED_CURSOR)
    after = int(entry.value["seq"]) if entry else 0
    taken = 0
    while rows := worker.store.read(PARKED_LOG, after, page):
        ingest = worker.ingest()  # raises ConfigError while the configuration is still bad
        feed(ingest, [Envelope.from_json(value) for _, value in rows])
        ingest.commit()
        after = rows[-1][0]
        worker.store.put(*PARKED_CURSOR, {"seq": after})
        taken += len(rows)
    return taken


def _ref(env: Envelope) -> dict[str, Any]:
    """Where a rejection came from; small bodies are kept so it can be replayed later
    (the record is then a capture envelope: ``chargeops replay`` reads it)."""
    envelope = env.as_json()
    ref: dict[str, Any] = {
        "message_id": env.message_id,
        "enqueued_time_utc": envelope["enqueued_time_utc"],
    }
    if len(env.body) <= _BODY_KEPT:
        ref["body_base64"] = envelope["body_base64"]
    return ref


def _mark_last_message(worker: Worker, batch: Sequence[Envelope]) -> None:
    """``meta/last_message``: newest enqueue time seen (the registry's idle check reads it)."""
    from shared.app.health import LAST_MESSAGE  # noqa: PLC0415
    from shared.storage.base import AlreadyExists, Conflict  # noqa: PLC0415
    from shared.timestamps import format_utc, parse_utc  # noqa: PLC0415

    newest = max((e.enqueued_at for e in batch if e.enqueued_at), default=None) or worker.now()
    for _ in range(5):
        entry = worker.store.get(*LAST_MESSAGE)
        if entry is not None and parse_utc(entry.value["at"]) >= newest:
            return
        try:
            worker.store.put(
                *LAST_MESSAGE,
                {"at": format_utc(newest)},
                expect=entry.version if entry else None,
            )
            return
        except (AlreadyExists, Conflict):
            continue
