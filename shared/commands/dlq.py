"""``chargeops dlq peek|replay``: the dead-letter queues of our topic's subscriptions.

A message lands there after ``maxDeliveryCount`` failed deliveries (a target down for
long, a template error, a bug). ``peek`` lists them with Service Bus' reason; ``replay``
resubmits them to our topic once the cause is fixed, then removes them from the
dead-letter queue. Replaying is safe: consumers deliver with idempotency keys derived
from the CloudEvent id, so what a target already took is not sent again. The copy gets a
new message id (``<id>:replay:<seq>``), since the topic's duplicate detection would drop
the original id, and keeps session, type and properties, so the same subscription takes it.

Messages on our topic that are not our CloudEvents never reach a dead-letter queue: the
consumers keep them in the state with their reason and complete them at once
(``shared.app.quarantine``). ``peek`` lists them too (``--source store`` for only those);
they cannot be replayed, there is nothing to deliver.

Zaptec's own subscription has a dead-letter queue too, but it is Zaptec's, not ours.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.cli import UsageError
from shared.commands.common import add_common

__all__ = ["DeadLetter", "Receiver", "peek", "register", "replay"]


class Receiver(Protocol):
    """The part of ``azure.servicebus.ServiceBusReceiver`` used here (peek-lock mode)."""

    def peek_messages(self, max_message_count: int = 1, **kwargs: Any) -> list[Any]: ...

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[Any]: ...

    def complete_message(self, message: Any) -> None: ...

    def abandon_message(self, message: Any) -> None: ...


class Sender(Protocol):
    def send_messages(self, message: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message, as an operator wants to see it."""

    subscription: str
    sequence_number: int
    message_id: str
    session_id: str | None
    event_type: str | None
    event_id: str | None
    reason: str | None
    description: str | None
    delivery_count: int | None
    enqueued_time: str | None

    @classmethod
    def of(cls, subscription: str, msg: Any) -> DeadLetter:
        props = _properties(msg)
        event: dict[str, Any] = {}
        try:
            parsed = json.loads(_body(msg))
            event = parsed if isinstance(parsed, dict) else {}
        except (ValueError, UnicodeDecodeError):
            pass
        enqueued = getattr(msg, "enqueued_time_utc", None)
        return cls(
            subscription=subscription,
            sequence_number=int(msg.sequence_number),
            message_id=str(msg.message_id),
            session_id=msg.session_id,
            event_type=props.get("event_type") or event.get("type"),
            event_id=event.get("id"),
            reason=msg.dead_letter_reason,
            description=msg.dead_letter_error_description,
            delivery_count=getattr(msg, "delivery_count", None),
            enqueued_time=enqueued.isoformat() if isinstance(enqueued, datetime) else None,
        )


def peek(receiver: Receiver, subscription: str, limit: int) -> list[DeadLetter]:
    """List up to ``limit`` dead letters without locking or removing them."""
    found: list[DeadLetter] = []
    start = 0
    while len(found) < limit:
        page = receiver.peek_messages(min(100, limit - len(found)), sequence_number=start)
        if not page:
            break
        found.extend(DeadLetter.of(subscription, m) for m in page)
        start = int(page[-1].sequence_number) + 1
    return found


def replay(
    receiver: Receiver,
    sender: Sender,
    subscription: str,
    *,
    limit: int,
    message_ids: Iterable[str] = (),
    dry_run: bool = False,
) -> list[DeadLetter]:
    """Resubmit dead letters (all, or those with the given message ids) to our topic and
    remove them from the dead-letter queue; each is removed only after it was sent."""
    wanted = set(message_ids)
    done: list[DeadLetter] = []
    seen: set[int] = set()
    while len(done) < limit:
        batch = receiver.receive_messages(
            max_message_count=min(50, limit - len(done)), max_wait_time=5
        )
        fresh = [m for m in batch if int(m.sequence_number) not in seen]
        if not fresh:
            for m in batch:
                receiver.abandon_message(m)
            break
        for msg in fresh:
            seen.add(int(msg.sequence_number))
            letter = DeadLetter.of(subscription, msg)
            chosen = (not wanted or letter.message_id in wanted) and len(done) < limit
            if not chosen or dry_run:
                receiver.abandon_message(msg)  # stays dead-lettered
                if chosen:
                    done.append(letter)
                continue
            try:
                sender.send_messages(_copy(msg, subscription))
            except Exception:
                receiver.abandon_message(msg)
                raise
            receiver.complete_message(msg)  # removed only once the copy is on the topic
            done.append(letter)
    return done


def _copy(msg: Any, subscription: str) -> Any:
    from azure.servicebus import ServiceBusMessage  # noqa: PLC0415

    props: dict[str | bytes, Any] = {}
    for key, value in _properties(msg).items():
        props[key] = value
    props.update({"replayed_from": subscription, "replay_of": str(msg.message_id)})
    return ServiceBusMessage(
        _body(msg),
        message_id=f"{msg.message_id}:replay:{msg.sequence_number}"[:128],
        session_id=msg.session_id,
        content_type=msg.content_type,
        subject=msg.subject,
        application_properties=props,
    )


def _body(msg: Any) -> bytes:
    body = msg.body
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return b"".join(body)


def _properties(msg: Any) -> dict[str, str]:
    raw: Mapping[Any, Any] = getattr(msg, "application_properties", None) or {}
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode() if isinstance(v, bytes) else str(v)
        )
        for k, v in raw.items()
    }


# -- command line ------------------------------------------------------------------------


def register(sub: Any) -> None:
    p = sub.add_parser(
        "dlq",
        help="list or resubmit dead-lettered messages of our topic's subscriptions",
        description="Dead-letter queues of our Service Bus subscriptions (tickets, finance). "
        "Namespace from --namespace, else $CHARGEOPS_SERVICEBUS__fullyQualifiedNamespace "
        "(your Azure login or the managed identity) or $CHARGEOPS_SERVICEBUS (a connection "
        "string); topic and subscriptions from $CHARGEOPS_TOPIC and "
        "$CHARGEOPS_TICKETS_SUBSCRIPTION / $CHARGEOPS_FINANCE_SUBSCRIPTION.",
    )
    p.add_argument("action", choices=["peek", "replay"], help="peek: list; replay: resubmit")
    p.add_argument(
        "--subscription",
        choices=["tickets", "finance", "all"],
        default="all",
        help="which consumer's queue (default: both)",
    )
    p.add_argument("--max", type=int, default=100, metavar="N", help="at most N messages each")
    p.add_argument(
        "--message-id", action="append", default=[], metavar="ID", help="replay only these"
    )
    p.add_argument("--dry-run", action="store_true", help="replay: show, do not resubmit")
    p.add_argument("--namespace", metavar="FQNS", help="<name>.servicebus.windows.net")
    p.add_argument(
        "--source",
        choices=["bus", "store", "all"],
        default="all",
        help="peek: the subscriptions' dead-letter queues (bus), the messages that were "
        "not our CloudEvents, kept in the state (store; use --state table in Azure), or "
        "both (default)",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from shared.adapters.app_settings import AppSettings, BusTarget, SettingsError, bus_target  # noqa: PLC0415

    if args.max < 1:
        raise UsageError("--max: must be at least 1")
    if args.action == "peek" and args.source in ("store", "all"):
        print(f"{_peek_kept(args)} kept in the state (not our CloudEvents)", file=sys.stderr)
        if args.source == "store":
            return 0
    total = 0
    env = dict(os.environ)
    try:
        target = BusTarget(args.namespace) if args.namespace else bus_target(env)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    settings = AppSettings.from_env(env)
    names = settings.subscriptions()
    chosen = list(names) if args.subscription == "all" else [args.subscription]
    from azure.servicebus import ServiceBusReceiveMode, ServiceBusSubQueue  # noqa: PLC0415

    from shared.adapters.servicebus import open_client  # noqa: PLC0415

    with open_client(target) as client:
        for consumer in chosen:
            receiver = client.get_subscription_receiver(
                settings.topic,
                names[consumer],
                sub_queue=ServiceBusSubQueue.DEAD_LETTER,
                receive_mode=ServiceBusReceiveMode.PEEK_LOCK,
            )
            with receiver:
                if args.action == "peek":
                    letters = peek(receiver, consumer, args.max)
                else:
                    with client.get_topic_sender(settings.topic) as sender:
                        letters = replay(
                            receiver,
                            sender,
                            consumer,
                            limit=args.max,
                            message_ids=args.message_id,
                            dry_run=args.dry_run,
                        )
            _print(letters, args)
            total += len(letters)
    verb = (
        "dead letters"
        if args.action == "peek"
        else ("would replay" if args.dry_run else "replayed")
    )
    print(f"{total} {verb}", file=sys.stderr)
    return 0


def _print(letters: list[DeadLetter], args: argparse.Namespace) -> None:
    for letter in letters:
        if args.json:
            print(json.dumps(asdict(letter)))
        else:
            print(
                f"{letter.subscription}\t#{letter.sequence_number}\t{letter.event_type}\t"
                f"{letter.session_id}\t{letter.reason}: {letter.description}"
            )


def _peek_kept(args: argparse.Namespace) -> int:
    """Messages the consumers kept because they were not our CloudEvents."""
    from pathlib import Path  # noqa: PLC0415

    from shared.app.quarantine import kept  # noqa: PLC0415
    from shared.commands.common import resolve_store  # noqa: PLC0415

    store = resolve_store(args, Path("out"))
    try:
        found = kept(store, args.max)
    finally:
        store.close()
    for item in found:
        if args.json:
            print(json.dumps({"source": "store", **asdict(item)}))
        else:
            print(
                f"{item.subscription}\tkept {item.at}\t{item.message_id}\t"
                f"{item.session_id}\tnot our CloudEvent: {item.reason} ({item.size} bytes)"
            )
    return len(found)
