"""Azure Table Storage store: the same contract as SQLite on one table (``CHARGEOPS_TABLE``).

Layout (PartitionKey / RowKey; every entity also keeps its original key in ``k``):

- records: ``rec.<kind>`` / ``<key>``; the value is JSON in ``v``, ``v1``, … (a string
  property holds 64 KiB) and the entity's ETag is the record's ``version``.
- logs: one partition ``log.<name>`` per log holding the head counter ``h`` (``seq``),
  the entries ``s<seq, 16 digits>`` and a dedup index ``x<dedup key>`` (``seq``).

Keys are escaped (``~XX`` per UTF-8 byte) outside a conservative ASCII set, because Azure
forbids ``/ \\ # ?`` and control characters in keys; an escaped key longer than fits
is cut and suffixed with a hash. Ordering never relies on the server: ``scan`` sorts by
the original key, which is SQLite's order.

What is atomic: one record write; one ``put_many`` batch (100 records); one ``append``
batch (49 entries: entries, dedup index rows and the head move in one entity-group
transaction, the head guarded by its ETag, so concurrent appenders never share a seq and
a crash never leaves a hole or an unindexed entry). ``transaction()`` groups nothing: writes
apply in the order issued, so callers order them so that a crash between two is repaired
by re-running the unit of work (log appends first, since they deduplicate).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from shared.json_text import dumps, loads
from shared.storage.base import (
    ANY,
    AlreadyExists,
    Conflict,
    Entry,
    Json,
    Store,
    StoreConfigError,
    TooLarge,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["TableStore", "decode_key", "encode_key"]

_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset("\"#%'+/?\\~")
_MAX_KEY = 480  # a key is at most 1 KiB of UTF-16: 512 characters, minus our prefix
_CHUNK = 15_000  # characters per string property: 64 KiB even if every one is UTF-16 x2
_MAX_PROPS = 60  # an entity holds at most 1 MiB
_BATCH_OPS = 100
_BATCH_BYTES = 3_500_000  # a transaction's body must stay under 4 MiB
_OR_KEYS = 14  # a filter may hold 15 comparisons: one PartitionKey and 14 RowKeys
_PAGE = 1000  # entities per query page, the service's most
_SCAN_AFTER = 2  # keyed queries worth trying before reading a whole partition instead
_APPEND_TRIES = 50
_RETRIES = 4  # azure-core's exponential backoff: about 12 s before an outage is reported
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_HEAD = "h"
_UNREAD = object()  # a head entity not read yet
_T = TypeVar("_T")


def encode_key(key: str) -> str:
    """A table key for ``key``: prefix-preserving (``a`` -> ``enc(a)`` is a prefix of
    ``enc(ab)``), unique, and free of the characters Azure forbids."""
    if all(ch in _SAFE for ch in key):
        out = key
    else:
        parts = []
        for ch in key:
            if ch in _SAFE:
                parts.append(ch)
            else:
                parts.extend(f"~{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        out = "".join(parts)
    if len(out) > _MAX_KEY:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        out = f"{out[: _MAX_KEY - 66]}~~{digest}"
    return out


def decode_key(text: str) -> str:
    """Inverse of ``encode_key`` for keys that were not cut (tests and tooling)."""
    if "~" not in text:
        return text
    raw = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "~":
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(text[i].encode("ascii"))
            i += 1
    return raw.decode("utf-8", "surrogatepass")


def _pack(value: Json) -> dict[str, str]:
    text = dumps(value)
    chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)] or [""]
    if len(chunks) > _MAX_PROPS:
        raise TooLarge(f"value of {len(text)} characters is too large for a table entity")
    return {("v" if i == 0 else f"v{i}"): chunk for i, chunk in enumerate(chunks)}


def _unpack(entity: Mapping[str, Any]) -> Json:
    parts = [entity["v"]]
    i = 1
    while f"v{i}" in entity:
        parts.append(entity[f"v{i}"])
        i += 1
    value: Json = loads("".join(parts))
    return value


def _etag(entity: Any) -> str:
    return str(entity.metadata["etag"])


def _or_filter(keys: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``PartitionKey eq @pk and ( RowKey eq @k0 or … )`` (the SDK splits on spaces)."""
    clauses = " or ".join(f"RowKey eq @k{i}" for i in range(len(keys)))
    return f"PartitionKey eq @pk and ( {clauses} )", {f"k{i}": k for i, k in enumerate(keys)}


def _is_race(exc: TableTransactionError) -> bool:
    code = getattr(exc, "error_code", None)
    return code in {"EntityAlreadyExists", "UpdateConditionNotSatisfied"} or (
        exc.status_code in (409, 412)
    )


class TableStore(Store):
    """All kinds and logs in one Azure table (Azurite locally)."""

    def __init__(self, client: TableClient, location: str) -> None:
        self._table = client
        self.location = location
        self._depth = 0
        self._sizes: dict[str, int] = {}  # entities per partition, as last scanned

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_settings(cls, env: Mapping[str, str]) -> TableStore:
        """CHARGEOPS_STORAGE (endpoint URL -> managed identity, or a connection string),
        else AzureWebJobsStorage / AzureWebJobsStorage__tableServiceUri; CHARGEOPS_TABLE."""
        from shared.adapters.app_settings import SettingsError, storage_target  # noqa: PLC0415

        try:
            target = storage_target(env)
        except SettingsError as exc:
            raise StoreConfigError(f"--state table: {exc}") from None
        table = env.get("CHARGEOPS_TABLE") or "chargeops"
        if not _TABLE_NAME.match(table):
            raise StoreConfigError(
                f"CHARGEOPS_TABLE {table!r}: a table name is 3-63 letters and digits, "
                "starting with a letter"
            )
        if target.connection_string is not None:
            try:
                client = TableClient.from_connection_string(
                    target.connection_string, table, retry_total=_RETRIES
                )
            except ValueError as exc:  # the SDK's word for a malformed connection string
                raise StoreConfigError(f"--state table: {exc}") from None
        else:
            assert target.endpoint is not None
            client = TableClient(
                target.endpoint,
                table,
                credential=_credential(target.client_id),
                retry_total=_RETRIES,
            )
        return cls.open(client, f"table:{target.account}/{table}")

    @classmethod
    def open(cls, client: TableClient, location: str) -> TableStore:
        """Wrap a client, creating its table when missing."""
        with suppress(ResourceExistsError):
            client.create_table()
        return cls(client, location)

    # -- records -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def get(self, kind: str, key: str) -> Entry | None:
        try:
            entity = self._table.get_entity(_rec(kind), encode_key(key))
        except ResourceNotFoundError:
            return None
        return Entry(_unpack(entity), _etag(entity))

    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Entry]:
        """Keyed reads, 14 to a query (a filter holds 15 comparisons) or, when that takes
        more requests than reading the whole partition (1,000 entities a page, its size
        learnt from the last such read), the whole partition: a batch touching most of a
        small fleet's chargers reads their states in one request instead of ten."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Entry] = {}
        queries = -(-len(wanted) // _OR_KEYS)
        known = self._sizes.get(kind)
        if queries > _SCAN_AFTER and (known is None or -(-known // _PAGE) < queries):
            want = set(wanted)
            size = 0
            for entity in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": _rec(kind)}, results_per_page=_PAGE
            ):
                size += 1
                if entity["k"] in want:
                    found[entity["k"]] = Entry(_unpack(entity), _etag(entity))
            self._sizes[kind] = size
            return found
        for start in range(0, len(wanted), _OR_KEYS):
            chunk = wanted[start : start + _OR_KEYS]
            query, params = _or_filter([encode_key(k) for k in chunk])
            for entity in self._table.query_entities(
                query, parameters={"pk": _rec(kind), **params}
            ):
                if entity["k"] in chunk:
                    found[entity["k"]] = Entry(_unpack(entity), _etag(entity))
        return found

    def scan(self, kind: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        rows = [
            (entity["k"], Entry(_unpack(entity), _etag(entity)))
            for entity in self._range(_rec(kind), encode_key(prefix)[: _MAX_KEY - 66])
            if entity["k"].startswith(prefix)
        ]
        rows.sort(key=lambda row: row[0])
        yield from rows

    def put(self, kind: str, key: str, value: Json, *, expect: object = ANY) -> str:
        entity = {"PartitionKey": _rec(kind), "RowKey": encode_key(key), "k": key, **_pack(value)}
        try:
            if expect is None:
                meta = self._table.create_entity(entity)
            elif expect is ANY:
                meta = self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            elif not str(expect).startswith('W/"'):  # not a version this store handed out
                raise Conflict(f"{kind}/{key}: version changed")
            else:
                meta = self._table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=str(expect),
                    match_condition=MatchConditions.IfNotModified,
                )
        except ResourceExistsError:
            raise AlreadyExists(f"{kind}/{key}") from None
        except (ResourceModifiedError, ResourceNotFoundError):
            raise Conflict(f"{kind}/{key}: version changed") from None
        return str(meta["etag"])

    def put_many(self, kind: str, items: Mapping[str, Json]) -> None:
        entities = [
            {"PartitionKey": _rec(kind), "RowKey": encode_key(key), "k": key, **_pack(value)}
            for key, value in items.items()
        ]
        for batch in _batches(entities, per_op=1, size=_entity_size):
            self._table.submit_transaction(
                [("upsert", entity, {"mode": UpdateMode.REPLACE}) for entity in batch]
            )

    def put_versioned(self, kind: str, items: Mapping[str, tuple[Json, object]]) -> dict[str, str]:
        """Compare-and-swap many records of one kind in transactions of 100 (one request
        each instead of one per record): each record inserted only if absent (expect
        None) or replaced only at its version. A transaction is all or nothing, so a
        Conflict leaves every record of that transaction as it was; earlier
        transactions stay written, which a retry of the unit of work reads afresh."""
        ops: list[tuple[str, dict[str, Any], object]] = []
        for key, (value, expect) in items.items():
            if expect is not None and expect is not ANY and not str(expect).startswith('W/"'):
                raise Conflict(f"{kind}/{key}: version changed")
            entity = {"PartitionKey": _rec(kind), "RowKey": encode_key(key), "k": key,
                      **_pack(value)}  # fmt: skip
            ops.append((key, entity, expect))
        versions: dict[str, str] = {}
        for batch in _batches(ops, per_op=1, size=lambda op: _entity_size(op[1])):
            calls: list[Any] = []
            for _, entity, expect in batch:
                if expect is None:
                    calls.append(("create", entity))
                elif expect is ANY:
                    calls.append(("upsert", entity, {"mode": UpdateMode.REPLACE}))
                else:
                    calls.append(("update", entity, {
                        "mode": UpdateMode.REPLACE,
                        "etag": str(expect),
                        "match_condition": MatchConditions.IfNotModified,
                    }))  # fmt: skip
            try:
                replies = self._table.submit_transaction(calls)
            except TableTransactionError as exc:
                if _is_race(exc) or exc.status_code == 404:
                    raise Conflict(f"{kind}: a record changed meanwhile") from None
                raise
            for (key, _, _), reply in zip(batch, replies, strict=True):
                versions[key] = str(reply["etag"])
        return versions

    def delete(self, kind: str, key: str) -> None:
        self._table.delete_entity(_rec(kind), encode_key(key))  # absent: no error

    # -- logs --------------------------------------------------------------------------

    def append(self, log: str, entries: Sequence[tuple[str, Json]]) -> list[tuple[int, Json]]:
        pk = _log(log)
        fresh: dict[str, Json] = {}
        for dedup, value in entries:
            fresh.setdefault(dedup, value)
        if not fresh:
            return []
        present, head = self._indexed_and_head(pk, list(fresh))
        for dedup in present:
            del fresh[dedup]
        added: list[tuple[int, Json]] = []
        pending: list[dict[str, Any]] = [
            {"k": d, "value": v, "props": _pack(v)} for d, v in fresh.items()
        ]
        for batch in _batches(
            pending, per_op=2, reserve=1, size=lambda i: _entity_size(i["props"])
        ):
            added.extend(self._append_batch(pk, log, batch, head))
            head = _UNREAD  # the next batch reads the head it moved
        return added

    def read(self, log: str, after: int = 0, limit: int = 1000) -> list[tuple[int, Json]]:
        if limit <= 0:
            return []
        rows: list[tuple[int, Json]] = []
        entities = self._table.query_entities(
            "PartitionKey eq @pk and RowKey gt @lo and RowKey lt @hi",
            parameters={"pk": _log(log), "lo": _seq(max(after, 0)), "hi": "t"},
            results_per_page=min(limit, 1000),
        )
        for entity in entities:
            rows.append((int(entity["RowKey"][1:]), _unpack(entity)))
            if len(rows) >= limit:
                break
        return rows

    def head(self, log: str) -> int:
        try:
            return int(self._table.get_entity(_log(log), _HEAD)["seq"])
        except ResourceNotFoundError:
            return 0

    def seq_of(self, log: str, dedup_key: str) -> int | None:
        try:
            return int(self._table.get_entity(_log(log), "x" + encode_key(dedup_key))["seq"])
        except ResourceNotFoundError:
            return None

    def close(self) -> None:
        self._table.close()

    # -- internals ---------------------------------------------------------------------

    def _range(self, pk: str, prefix: str) -> Iterator[Any]:
        if not prefix:
            yield from self._table.query_entities("PartitionKey eq @pk", parameters={"pk": pk})
            return
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        yield from self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": pk, "lo": prefix, "hi": upper},
        )

    def _indexed(self, pk: str, dedups: Sequence[str]) -> set[str]:
        """Which of these dedup keys the log already holds."""
        present: set[str] = set()
        for start in range(0, len(dedups), _OR_KEYS):
            chunk = dedups[start : start + _OR_KEYS]
            query, params = _or_filter(["x" + encode_key(d) for d in chunk])
            for entity in self._table.query_entities(
                query, parameters={"pk": pk, **params}, select=["k"]
            ):
                present.add(entity["k"])
        return present

    def _indexed_and_head(self, pk: str, dedups: Sequence[str]) -> tuple[set[str], Any]:
        """``_indexed`` with the log's head entity read by the same first query (one
        request fewer per append; None when the log has no head yet)."""
        first = dedups[: _OR_KEYS - 1]
        query, params = _or_filter([_HEAD, *("x" + encode_key(d) for d in first)])
        present: set[str] = set()
        head = None
        for entity in self._table.query_entities(query, parameters={"pk": pk, **params}):
            if entity["RowKey"] == _HEAD:
                head = entity
            else:
                present.add(entity["k"])
        return present | self._indexed(pk, dedups[_OR_KEYS - 1 :]), head

    def _append_batch(
        self, pk: str, log: str, batch: list[dict[str, Any]], known: Any = _UNREAD
    ) -> list[tuple[int, Json]]:
        """One entity-group transaction: the head moves and the entries land together.
        ``known``: the head entity as just read (``_UNREAD``: read it here)."""
        for _ in range(_APPEND_TRIES):
            if known is not _UNREAD:
                head, known = known, _UNREAD
            else:
                try:
                    head = self._table.get_entity(pk, _HEAD)
                except ResourceNotFoundError:
                    head = None
            top = int(head["seq"]) if head is not None else 0
            moved = {"PartitionKey": pk, "RowKey": _HEAD, "seq": str(top + len(batch))}
            ops: list[Any] = [("create", moved)] if head is None else [("update", moved, {
                "mode": UpdateMode.REPLACE,
                "etag": _etag(head),
                "match_condition": MatchConditions.IfNotModified,
            })]  # fmt: skip
            for seq, item in enumerate(batch, start=top + 1):
                entry = {"PartitionKey": pk, "RowKey": _seq(seq), "k": item["k"], **item["props"]}
                index = {"PartitionKey": pk, "RowKey": "x" + encode_key(item["k"]),
                         "k": item["k"], "seq": str(seq)}  # fmt: skip
                ops += [("create", entry), ("create", index)]
            try:
                self._table.submit_transaction(ops)
            except TableTransactionError as exc:
                if not _is_race(exc):
                    raise
                # Someone appended first: drop what they added of ours, retry on the new head.
                taken = self._indexed(pk, [item["k"] for item in batch])
                batch = [item for item in batch if item["k"] not in taken]
                if not batch:
                    return []
                continue
            return [(seq, item["value"]) for seq, item in enumerate(batch, start=top + 1)]
        raise Conflict(f"log {log}: too many concurrent appends")


def _rec(kind: str) -> str:
    return "rec." + encode_key(kind)


def _log(name: str) -> str:
    return "log." + encode_key(name)


def _seq(seq: int) -> str:
    return f"s{seq:016d}"


def _entity_size(entity: Mapping[str, Any]) -> int:
    """Bytes an entity takes in a batch body, roughly (UTF-16 worst case plus framing)."""
    return sum(len(v) * 2 for v in entity.values() if isinstance(v, str)) + 600


def _batches(
    items: Sequence[_T],
    *,
    per_op: int,
    size: Callable[[_T], int],
    reserve: int = 0,
) -> Iterator[list[_T]]:
    """Split into transactions within the service's limits (100 operations, 4 MiB)."""
    batch: list[_T] = []
    total = 0
    for item in items:
        cost = size(item) * per_op
        if batch and (
            (len(batch) + 1) * per_op + reserve > _BATCH_OPS or total + cost > _BATCH_BYTES
        ):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += cost
    if batch:
        yield batch


def _credential(client_id: str | None) -> TokenCredential:
    """The app's managed identity in Azure; the developer's login locally."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # noqa: PLC0415

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()
