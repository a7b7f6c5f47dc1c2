"""App settings of the function app (names fixed by ``infra/``), parsed once per worker.

Connections follow the Functions host's own conventions, so one setting serves both the
bindings and our SDK clients: ``NAME`` is a connection string, or ``NAME__fullyQualifiedNamespace``
(Service Bus) / ``NAME__tableServiceUri`` (Storage) with ``NAME__credential=managedidentity``
and ``NAME__clientId`` select the managed identity. Nothing here logs a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "AppSettings",
    "BusTarget",
    "SettingsError",
    "StorageTarget",
    "bus_target",
    "storage_target",
]


class SettingsError(ValueError):
    """A required app setting is missing or malformed (the message names it)."""


@dataclass(frozen=True, slots=True)
class StorageTarget:
    """Where the state table lives: a connection string, or an endpoint and an identity."""

    account: str
    connection_string: str | None = None
    endpoint: str | None = None
    client_id: str | None = None  # managed identity; None: DefaultAzureCredential


@dataclass(frozen=True, slots=True)
class BusTarget:
    """A Service Bus namespace: a connection string, or a namespace and an identity."""

    namespace: str
    connection_string: str | None = None
    client_id: str | None = None
    managed_identity: bool = False


@dataclass(frozen=True)
class AppSettings:
    """Entity names of our own topic (the Bicep creates them with these defaults)."""

    topic: str = "charger-events"
    tickets_subscription: str = "tickets"
    finance_subscription: str = "finance"
    table: str = "chargeops"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AppSettings:
        return cls(
            topic=env.get("CHARGEOPS_TOPIC") or cls.topic,
            tickets_subscription=env.get("CHARGEOPS_TICKETS_SUBSCRIPTION")
            or cls.tickets_subscription,
            finance_subscription=env.get("CHARGEOPS_FINANCE_SUBSCRIPTION")
            or cls.finance_subscription,
            table=env.get("CHARGEOPS_TABLE") or cls.table,
        )

    def subscriptions(self) -> dict[str, str]:
        """Consumer name -> subscription name."""
        return {"tickets": self.tickets_subscription, "finance": self.finance_subscription}


def storage_target(env: Mapping[str, str]) -> StorageTarget:
    """CHARGEOPS_STORAGE (table endpoint URL or connection string), else AzureWebJobsStorage
    (connection string) or AzureWebJobsStorage__tableServiceUri (identity)."""
    own = (env.get("CHARGEOPS_STORAGE") or "").strip()
    if own:
        if own.startswith(("https://", "http://")):
            return StorageTarget(_account_of_url(own, "CHARGEOPS_STORAGE"), endpoint=own)
        return _from_connection_string(own, "CHARGEOPS_STORAGE")
    host = (env.get("AzureWebJobsStorage") or "").strip()
    if host:
        return _from_connection_string(host, "AzureWebJobsStorage")
    uri = (env.get("AzureWebJobsStorage__tableServiceUri") or "").strip()
    if uri:
        managed = (env.get("AzureWebJobsStorage__credential") or "").lower() == "managedidentity"
        client_id = env.get("AzureWebJobsStorage__clientId") if managed else None
        return StorageTarget(
            _account_of_url(uri, "AzureWebJobsStorage__tableServiceUri"),
            endpoint=uri,
            client_id=client_id or None,
        )
    raise SettingsError(
        "no table storage configured: set CHARGEOPS_STORAGE (https://<account>.table.core."
        "windows.net or a connection string) or AzureWebJobsStorage"
    )


def bus_target(env: Mapping[str, str], name: str = "CHARGEOPS_SERVICEBUS") -> BusTarget:
    """``NAME`` as a connection string, else ``NAME__fullyQualifiedNamespace`` + identity."""
    conn = (env.get(name) or "").strip()
    if conn:
        fields = _fields(conn)
        endpoint = fields.get("endpoint", "")
        host = urlsplit(endpoint).hostname if "://" in endpoint else None
        if not host or not (
            fields.get("sharedaccesskeyname") or fields.get("sharedaccesssignature")
        ):
            raise SettingsError(f"{name}: not a Service Bus connection string (Endpoint=sb://…)")
        return BusTarget(host, connection_string=conn)
    fqns = (env.get(f"{name}__fullyQualifiedNamespace") or "").strip()
    if fqns:
        managed = (env.get(f"{name}__credential") or "").lower() == "managedidentity"
        client_id = (env.get(f"{name}__clientId") or "").strip() or None
        return BusTarget(fqns, client_id=client_id, managed_identity=managed)
    raise SettingsError(
        f"no Service Bus namespace configured: set {name}__fullyQualifiedNamespace "
        f"(managed identity) or {name} (a connection string)"
    )


def _from_connection_string(conn: str, setting: str) -> StorageTarget:
    fields = _fields(conn)
    if fields.get("usedevelopmentstorage", "").lower() == "true":
        return StorageTarget("devstoreaccount1", connection_string=conn)
    account = fields.get("accountname")
    if not account and fields.get("tableendpoint"):
        account = _account_of_url(fields["tableendpoint"], setting)
    if not account:
        raise SettingsError(f"{setting}: not a storage connection string (no AccountName)")
    return StorageTarget(account, connection_string=conn)


def _account_of_url(url: str, setting: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        raise SettingsError(f"{setting}: not a URL")
    if parts.hostname in {"127.0.0.1", "localhost"}:  # Azurite: http://host:port/account
        return parts.path.strip("/").split("/")[0] or "devstoreaccount1"
    return parts.hostname.split(".")[0]


def _fields(conn: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in conn.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out
