"""AN IN-PROCESS SIMULATION of Azure Service Bus and of the Functions host's Service Bus
trigger. It is not Service Bus: Service Bus cannot run here (its emulator is a Docker
image, azure.md pitfall 9), so these classes reproduce the documented rules our functions
rely on, and drive the real function code with them:

- peek-lock: a received message is locked (invisible to other receivers) until it is
  completed or abandoned; each delivery increments its delivery count;
- abandon -> available again; once delivered ``max_delivery_count`` times, an abandon
  moves it to the dead-letter subqueue (reason ``MaxDeliveryCountExceeded``);
- sessions: a session is held by one receiver at a time and delivers its messages in
  enqueue order, the next only after the current one is settled (an abandoned message
  stays first);
- duplicate detection on the topic by message id;
- subscription filters (the SQL filters of infra/, as predicates on ``event_type``);
- the host's settlement (autoCompleteMessages): complete when the function returns,
  abandon when it raises; a batch trigger settles the whole batch either way.

Messages sent in are the real ``azure.servicebus.ServiceBusMessage`` objects our code
builds; the functions receive real ``azure.functions.ServiceBusMessage`` objects; the
dead-letter receiver hands out objects shaped like ``ServiceBusReceivedMessage``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from azure.functions.servicebus import ServiceBusMessage

MAX_DELIVERY_REASON = "MaxDeliveryCountExceeded"
_seq = itertools.count(1)


@dataclass
class SimMessage:
    """A message as the broker holds it."""

    body: bytes
    message_id: str
    session_id: str | None = None
    application_properties: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    subject: str | None = None
    enqueued_time_utc: datetime = field(default_factory=lambda: datetime.now(UTC))
    sequence_number: int = field(default_factory=lambda: next(_seq))
    delivery_count: int = 0
    locked: bool = False
    dead_letter_reason: str | None = None
    dead_letter_error_description: str | None = None
    dead_letter_source: str | None = None

    @classmethod
    def from_sdk(cls, message: Any) -> SimMessage:
        """From an ``azure.servicebus.ServiceBusMessage`` as our publisher builds it."""
        body = message.body
        if not isinstance(body, bytes | bytearray):
            body = b"".join(body)
        props = {
            (k.decode() if isinstance(k, bytes) else str(k)): (
                v.decode() if isinstance(v, bytes) else str(v)
            )
            for k, v in (message.application_properties or {}).items()
        }
        return cls(
            body=bytes(body),
            message_id=str(message.message_id),
            session_id=message.session_id,
            application_properties=props,
            content_type=message.content_type,
            subject=message.subject,
        )

    def for_function(self) -> func.ServiceBusMessage:
        """What the host hands a Python function."""
        return ServiceBusMessage(
            body=self.body,
            message_id=self.message_id,
            session_id=self.session_id,
            content_type=self.content_type,
            label=self.subject,
            subject=self.subject,
            delivery_count=self.delivery_count,
            enqueued_time_utc=self.enqueued_time_utc,
            sequence_number=self.sequence_number,
            application_properties=dict(self.application_properties),
            user_properties=dict(self.application_properties),
        )


class Subscription:
    """One subscription (or Zaptec's, or a queue): active messages and a dead-letter queue."""

    def __init__(
        self,
        name: str,
        accepts: Callable[[dict[str, str]], bool] = lambda props: True,
        *,
        requires_session: bool = False,
        max_delivery_count: int = 10,
    ) -> None:
        self.name, self.accepts = name, accepts
        self.requires_session = requires_session
        self.max_delivery_count = max_delivery_count
        self.active: list[SimMessage] = []
        self.dead_letters: list[SimMessage] = []
        self.completed: list[SimMessage] = []

    def enqueue(self, message: SimMessage) -> None:
        if self.requires_session and not message.session_id:
            raise ValueError(f"{self.name}: a session-enabled subscription needs a session id")
        self.active.append(replace(message, delivery_count=0, locked=False))

    def available(self) -> list[SimMessage]:
        return [m for m in self.active if not m.locked]

    def receive(self, max_count: int = 1) -> list[SimMessage]:
        """Peek-lock receive; with sessions, from the next session nobody holds."""
        if self.requires_session:
            held = {m.session_id for m in self.active if m.locked}
            for message in self.active:
                if message.session_id not in held and not message.locked:
                    session = message.session_id
                    picked = [m for m in self.active if m.session_id == session][:max_count]
                    return [self._lock(m) for m in picked]
            return []
        return [self._lock(m) for m in self.available()[:max_count]]

    def complete(self, message: SimMessage) -> None:
        self.active.remove(message)
        message.locked = False
        self.completed.append(message)

    def abandon(self, message: SimMessage) -> None:
        message.locked = False
        if message.delivery_count >= self.max_delivery_count:
            self.dead_letter(
                message,
                MAX_DELIVERY_REASON,
                f"Message could not be consumed after {self.max_delivery_count} delivery attempts.",
            )

    def dead_letter(self, message: SimMessage, reason: str, description: str) -> None:
        self.active.remove(message)
        message.locked = False
        message.dead_letter_reason = reason
        message.dead_letter_error_description = description
        self.dead_letters.append(message)

    def dead_letter_receiver(self) -> DeadLetterReceiver:
        return DeadLetterReceiver(self)

    @staticmethod
    def _lock(message: SimMessage) -> SimMessage:
        message.locked = True
        message.delivery_count += 1
        return message


class Topic:
    """Our topic: duplicate detection by message id, fan-out through filters."""

    def __init__(self, name: str = "charger-events") -> None:
        self.name = name
        self.subscriptions: dict[str, Subscription] = {}
        self.seen_ids: set[str] = set()
        self.accepted: list[SimMessage] = []
        self.duplicates = 0
        self.fail_sends = 0  # the next N sends raise, as a network or auth outage would

    def subscribe(self, subscription: Subscription) -> Subscription:
        self.subscriptions[subscription.name] = subscription
        return subscription

    def send_messages(self, message: Any, **kwargs: Any) -> None:
        """The ``ServiceBusSender.send_messages`` surface: one message or a list."""
        if self.fail_sends:
            self.fail_sends -= 1
            raise ConnectionError("simulated: the namespace is unreachable")
        batch = message if isinstance(message, list) else [message]
        for item in batch:
            sim = SimMessage.from_sdk(item)
            if sim.message_id in self.seen_ids:
                self.duplicates += 1
                continue
            self.seen_ids.add(sim.message_id)
            self.accepted.append(sim)
            for sub in self.subscriptions.values():
                if sub.accepts(sim.application_properties):
                    sub.enqueue(sim)


@dataclass
class Context:
    """The part of ``azure.functions.Context`` our functions read."""

    function_name: str
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class Host:
    """Plays the Functions host for Service Bus triggers (autoCompleteMessages: true)."""

    def __init__(self) -> None:
        self.invocations = 0
        self.failures: list[BaseException] = []

    def run_single(
        self, sub: Subscription, function: Callable[..., None], name: str, limit: int = 10_000
    ) -> int:
        """One message per invocation until nothing is available; returns invocations."""
        done = 0
        while done < limit:
            got = sub.receive(1)
            if not got:
                return done
            message = got[0]
            done += 1
            if self._call(function, message.for_function(), name):
                sub.complete(message)
            else:
                sub.abandon(message)
        return done

    def run_batch(
        self,
        sub: Subscription,
        function: Callable[..., None],
        name: str,
        max_batch: int,
        limit: int = 10_000,
    ) -> int:
        done = 0
        while done < limit:
            got = sub.receive(max_batch)
            if not got:
                return done
            done += 1
            if self._call(function, [m.for_function() for m in got], name):
                for message in got:
                    sub.complete(message)
            else:
                for message in got:
                    sub.abandon(message)
        return done

    def _call(self, function: Callable[..., None], arg: Any, name: str) -> bool:
        self.invocations += 1
        try:
            function(arg, Context(name))
        except Exception as exc:
            self.failures.append(exc)
            return False
        return True


# -- the dead-letter subqueue, with the azure-servicebus receiver surface ------------------


class ReceivedMessage:
    """Shaped like ``azure.servicebus.ServiceBusReceivedMessage``: the body is an iterator
    of byte chunks and application property keys and values come back as bytes."""

    def __init__(self, message: SimMessage) -> None:
        self._message = message
        self.message_id = message.message_id
        self.session_id = message.session_id
        self.content_type = message.content_type
        self.subject = message.subject
        self.sequence_number = message.sequence_number
        self.enqueued_time_utc = message.enqueued_time_utc
        self.delivery_count = message.delivery_count
        self.dead_letter_reason = message.dead_letter_reason
        self.dead_letter_error_description = message.dead_letter_error_description
        self.dead_letter_source = message.dead_letter_source
        self.application_properties = {
            k.encode(): v.encode() for k, v in message.application_properties.items()
        }

    @property
    def body(self) -> Iterator[bytes]:
        data = self._message.body
        return iter([data[: len(data) // 2], data[len(data) // 2 :]])


class DeadLetterReceiver:
    """``get_subscription_receiver(..., sub_queue=DEAD_LETTER)`` in peek-lock mode."""

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self._locked: dict[int, SimMessage] = {}

    def peek_messages(self, max_message_count: int = 1, **kwargs: Any) -> list[ReceivedMessage]:
        start = kwargs.get("sequence_number") or 0
        found = [m for m in self.sub.dead_letters if m.sequence_number >= start]
        return [ReceivedMessage(m) for m in found[:max_message_count]]

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[ReceivedMessage]:
        free = [m for m in self.sub.dead_letters if m.sequence_number not in self._locked]
        picked = free[: max_message_count or 1]
        for m in picked:
            self._locked[m.sequence_number] = m
        return [ReceivedMessage(m) for m in picked]

    def complete_message(self, message: ReceivedMessage) -> None:
        held = self._locked.pop(message.sequence_number)
        self.sub.dead_letters.remove(held)

    def abandon_message(self, message: ReceivedMessage) -> None:
        self._locked.pop(message.sequence_number, None)

    def close(self) -> None:
        self._locked.clear()

    def __enter__(self) -> DeadLetterReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def event_type_filter(prefixes: Iterable[str]) -> Callable[[dict[str, str]], bool]:
    """``event_type LIKE 'p1%' OR …`` as a predicate."""
    wanted = tuple(prefixes)
    return lambda props: props.get("event_type", "").startswith(wanted)
