"""App settings as infra/ sets them, and as a developer sets them locally."""

from __future__ import annotations

import pytest

from shared.adapters.app_settings import AppSettings, SettingsError, bus_target, storage_target
from shared.storage.factory import StoreConfigError, open_store

AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


def test_our_storage_by_endpoint_uses_an_identity() -> None:
    t = storage_target({"CHARGEOPS_STORAGE": "https://stchargeops.table.core.windows.net"})
    assert (t.account, t.endpoint, t.connection_string) == (
        "stchargeops",
        "https://stchargeops.table.core.windows.net",
        None,
    )


def test_our_storage_by_connection_string_wins_over_the_hosts() -> None:
    t = storage_target(
        {"CHARGEOPS_STORAGE": AZURITE, "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    )
    assert (t.account, t.connection_string) == ("devstoreaccount1", AZURITE)


def test_the_hosts_storage_is_the_fallback_in_both_forms() -> None:
    dev = storage_target({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert dev.account == "devstoreaccount1"
    identity = storage_target(
        {
            "AzureWebJobsStorage__tableServiceUri": "https://st1.table.core.windows.net",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "1111-2222",
        }
    )
    assert (identity.account, identity.client_id) == ("st1", "1111-2222")


def test_missing_or_malformed_storage_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="CHARGEOPS_STORAGE"):
        storage_target({})
    with pytest.raises(SettingsError, match="AzureWebJobsStorage"):
        storage_target({"AzureWebJobsStorage": "nonsense"})
    with pytest.raises(StoreConfigError, match="CHARGEOPS_TABLE"):
        open_store("table", {"CHARGEOPS_STORAGE": AZURITE, "CHARGEOPS_TABLE": "no-dashes"})


def test_our_namespace_by_identity_or_connection_string() -> None:
    mi = bus_target(
        {
            "CHARGEOPS_SERVICEBUS__fullyQualifiedNamespace": "ns.servicebus.windows.net",
            "CHARGEOPS_SERVICEBUS__credential": "managedidentity",
            "CHARGEOPS_SERVICEBUS__clientId": "abc",
        }
    )
    assert (mi.namespace, mi.managed_identity, mi.client_id, mi.connection_string) == (
        "ns.servicebus.windows.net",
        True,
        "abc",
        None,
    )
    conn = "Endpoint=sb://ns2.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=eA=="
    cs = bus_target({"CHARGEOPS_SERVICEBUS": conn})
    assert (cs.namespace, cs.connection_string) == ("ns2.servicebus.windows.net", conn)
    with pytest.raises(SettingsError, match="CHARGEOPS_SERVICEBUS__fullyQualifiedNamespace"):
        bus_target({})
    with pytest.raises(SettingsError, match="not a Service Bus connection string") as err:
        bus_target({"CHARGEOPS_SERVICEBUS": "Endpoint=oops;SharedAccessKey=secretvalue"})
    assert "secretvalue" not in str(err.value)


def test_entity_names_default_to_what_infra_creates() -> None:
    assert AppSettings.from_env({}).subscriptions() == {"tickets": "tickets", "finance": "finance"}
    custom = AppSettings.from_env({"CHARGEOPS_TOPIC": "t", "CHARGEOPS_FINANCE_SUBSCRIPTION": "f"})
    assert (custom.topic, custom.finance_subscription, custom.table) == ("t", "f", "chargeops")
