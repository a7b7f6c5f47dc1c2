"""Structural checks of infra/*.bicep, parsed with pycep-parser: the properties the app and the
security posture rely on (identity-only access, names the code uses, role scopes)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ._iac import INFRA, REPO, BicepFile, Resource, accessor, module_params, unescape

MODULES = {
    "identity": "modules/identity.bicep",
    "monitoring": "modules/monitoring.bicep",
    "storage": "modules/storage.bicep",
    "servicebus": "modules/servicebus.bicep",
    "keyvault": "modules/keyvault.bicep",
    "rbac": "modules/rbac.bicep",
    "function": "modules/function.bicep",
    "alerts": "modules/alerts.bicep",
}

# Built-in role definition ids (docs: Azure built-in roles).
ROLE = {
    "sb_sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "sb_receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "blob_owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "queue_contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "table_contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "kv_secrets_user": "4633458b-17de-408a-b874-0445c86b69e6",
    "kv_secrets_officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "metrics_publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# The app settings the code reads (the contract between app code and Bicep).
PLAIN_SETTINGS = {
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": "identityClientId",
    "AzureWebJobsStorage__blobServiceUri": "blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri": "queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri": "tableServiceUri",
    "AZURE_CLIENT_ID": "identityClientId",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=${identityClientId};Authorization=AAD",
    "ZAPTEC_TOPIC": "zaptecTopic",
    "ZAPTEC_SUBSCRIPTION": "zaptecSubscription",
    "CHARGEOPS_SERVICEBUS__fullyQualifiedNamespace": "serviceBusFullyQualifiedNamespace",
    "CHARGEOPS_SERVICEBUS__credential": "managedidentity",
    "CHARGEOPS_SERVICEBUS__clientId": "identityClientId",
    "CHARGEOPS_TOPIC": "topicName",
    "CHARGEOPS_TICKETS_SUBSCRIPTION": "ticketsSubscriptionName",
    "CHARGEOPS_FINANCE_SUBSCRIPTION": "financeSubscriptionName",
    "CHARGEOPS_STORAGE": "tableServiceUri",
    "CHARGEOPS_TABLE": "tableName",
    "CHARGEOPS_CONFIG": "chargeopsConfig",
    "REGISTRY_REFRESH_SCHEDULE": "registryRefreshSchedule",
    "OFFLINE_WATCHDOG_SCHEDULE": "offlineWatchdogSchedule",
    "UPTIME_REPORT_SCHEDULE": "uptimeReportSchedule",
}
KEY_VAULT_SETTINGS = {
    "ZAPTEC_SERVICEBUS": "zaptec-servicebus-connection",
    "ZAPTEC_USERNAME": "zaptec-username",
    "ZAPTEC_PASSWORD": "zaptec-password",
}


def kv_reference(secret: str) -> str:
    return f"@Microsoft.KeyVault(SecretUri=${{keyVaultUri}}secrets/{secret}/)"


@pytest.fixture(scope="module")
def function(bicep: dict[str, BicepFile]) -> BicepFile:
    return bicep[MODULES["function"]]


@pytest.fixture(scope="module")
def app_settings(function: BicepFile) -> dict[str, Any]:
    site = function.resource("Microsoft.Web/sites")
    combined = site.properties["siteConfig"]["appSettings"]
    assert combined == {
        "function": {
            "type": "concat",
            "parameters": {
                "arg_1": "baseSettings",
                "arg_2": "configPathSettings",
                "arg_3": "targetSettings",
            },
        }
    }
    base = function.variables["baseSettings"]
    names = [s["name"] for s in base]
    assert len(names) == len(set(names)), "duplicate app setting"
    return {s["name"]: s["value"] for s in base}


# --- files, modules, syntax the offline parsers can read ---------------------------------------


def test_every_module_is_local_and_parsed(
    bicep: dict[str, BicepFile], main_bicep: BicepFile
) -> None:
    used = {m["detail"]["path"] for m in main_bicep.modules.values()}
    assert used == set(MODULES.values())
    assert all(m["type"] == "local" for m in main_bicep.modules.values())
    assert set(bicep) == {"main.bicep", *MODULES.values()}


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (r"^\s*import\s", "import"),
        (r"@export\(", "@export"),
        (r"^\s*type\s+\w+\s*=", "user-defined type"),
        (r"^\s*func\s", "user function"),
        (r"\.\.\.\w", "spread"),
        (r"\b(br|ts)[:/]", "registry module"),
        (r"\?\?|\.\?", "safe-dereference/coalesce"),
    ],
)
def test_no_syntax_the_offline_parsers_lag_on(pattern: str, what: str) -> None:
    for path in INFRA.rglob("*.bicep"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//", 1)[0]
            assert not re.search(pattern, code), f"{path.name}:{number} uses {what}: {line}"


# --- identity and monitoring -------------------------------------------------------------------


def test_user_assigned_identity(bicep: dict[str, BicepFile], function: BicepFile) -> None:
    bicep[MODULES["identity"]].resource("Microsoft.ManagedIdentity/userAssignedIdentities")
    site = function.resource("Microsoft.Web/sites")
    assert site.config["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {"'${identityId}'": {}},
    }
    assert site.properties["keyVaultReferenceIdentity"] == "identityId"


def test_application_insights_is_workspace_based_with_local_auth_off(
    bicep: dict[str, BicepFile],
) -> None:
    monitoring = bicep[MODULES["monitoring"]]
    workspace = monitoring.resource("Microsoft.OperationalInsights/workspaces")
    insights = monitoring.resource("Microsoft.Insights/components").properties
    assert insights["DisableLocalAuth"] is True
    assert insights["WorkspaceResourceId"] == accessor(workspace.symbol, "id")


# --- storage -----------------------------------------------------------------------------------


def test_storage_account_is_keyless_and_tls12(bicep: dict[str, BicepFile]) -> None:
    props = bicep[MODULES["storage"]].resource("Microsoft.Storage/storageAccounts").properties
    assert props["allowSharedKeyAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["allowBlobPublicAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True


def test_storage_has_deployment_container_and_state_table(
    bicep: dict[str, BicepFile], main_bicep: BicepFile
) -> None:
    storage = bicep[MODULES["storage"]]
    container = storage.resource("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container.config["name"] == "deploymentContainerName"
    assert container.properties["publicAccess"] == "None"
    table = storage.resource("Microsoft.Storage/storageAccounts/tableServices/tables")
    assert table.config["name"] == "tableName"
    params = module_params(main_bicep, MODULES["storage"])
    assert main_bicep.variables[params["tableName"]] == "chargeops"
    assert main_bicep.variables[params["deploymentContainerName"]] == "app-package"
    # The table endpoint is a bare URL (the app uses managed identity when the value is a URL).
    assert storage.outputs["tableServiceUri"]["value"] == (
        "https://${storage.name}.table.${environment().suffixes.storage}"
    )


# --- Service Bus -------------------------------------------------------------------------------


def like(pattern: str, value: str) -> bool:
    """SQL LIKE (% and _) as Service Bus SQL filters evaluate it."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value) is not None


def evaluate_filter(expression: str, event_type: str) -> bool:
    """Evaluate the OR-of-LIKE filters used here; reject anything more complex."""
    terms = [t.strip() for t in re.split(r"\s+OR\s+", expression)]
    results = []
    for term in terms:
        match = re.fullmatch(r"event_type LIKE '([^']*)'", term)
        assert match, f"unexpected filter term: {term}"
        results.append(like(match.group(1), event_type))
    return any(results)


@pytest.fixture(scope="module")
def servicebus(bicep: dict[str, BicepFile]) -> BicepFile:
    return bicep[MODULES["servicebus"]]


def test_service_bus_namespace_is_entra_only(servicebus: BicepFile) -> None:
    props = servicebus.resource("Microsoft.ServiceBus/namespaces").properties
    assert props["disableLocalAuth"] is True
    assert props["minimumTlsVersion"] == "1.2"
    assert not servicebus.resources("Microsoft.ServiceBus/namespaces/AuthorizationRules")
    assert not servicebus.resources("Microsoft.ServiceBus/namespaces/topics/authorizationRules")


def test_topic_and_subscription_names_and_settings(
    servicebus: BicepFile, main_bicep: BicepFile
) -> None:
    params = module_params(main_bicep, MODULES["servicebus"])
    assert params["topicName"] == "charger-events"
    assert params["ticketsSubscriptionName"] == "tickets"
    assert params["financeSubscriptionName"] == "finance"
    assert params["maxDeliveryCount"] == 10
    assert params["lockDuration"] == "PT1M"
    assert params["duplicateDetectionWindow"] == "P1D"
    assert main_bicep.param_default("messageTimeToLive") == "P14D"

    topic = servicebus.resource("Microsoft.ServiceBus/namespaces/topics")
    assert topic.config["name"] == "topicName"
    assert topic.properties["requiresDuplicateDetection"] is True
    assert topic.properties["duplicateDetectionHistoryTimeWindow"] == "duplicateDetectionWindow"

    subs = {
        s.config["name"]: s
        for s in servicebus.resources("Microsoft.ServiceBus/namespaces/topics/subscriptions")
    }
    assert set(subs) == {"ticketsSubscriptionName", "financeSubscriptionName"}
    for sub in subs.values():
        assert sub.config["parent"] == topic.symbol
        assert sub.properties["requiresSession"] is True
        assert sub.properties["maxDeliveryCount"] == "maxDeliveryCount"
        assert sub.properties["lockDuration"] == "lockDuration"
        assert sub.properties["deadLetteringOnMessageExpiration"] is True
        assert sub.properties["defaultMessageTimeToLive"] == "messageTimeToLive"


@pytest.fixture(scope="module")
def sql_filters(servicebus: BicepFile) -> dict[str, str]:
    subs = {
        s.symbol: s.config["name"]
        for s in servicebus.resources("Microsoft.ServiceBus/namespaces/topics/subscriptions")
    }
    rules = servicebus.resources("Microsoft.ServiceBus/namespaces/topics/subscriptions/rules")
    filters: dict[str, str] = {}
    for rule in rules:
        # Named $Default: replaces the match-all rule instead of adding to it.
        assert rule.config["name"] == "$Default"
        assert rule.properties["filterType"] == "SqlFilter"
        filters[subs[rule.config["parent"]]] = unescape(
            rule.properties["sqlFilter"]["sqlExpression"]
        )
    assert set(filters) == {"ticketsSubscriptionName", "financeSubscriptionName"}
    return filters


def test_sql_filters_are_the_documented_ones(sql_filters: dict[str, str]) -> None:
    assert sql_filters["ticketsSubscriptionName"] == (
        "event_type LIKE 'charger.%' OR event_type LIKE 'registry.%' OR event_type LIKE 'report.%'"
    )
    assert sql_filters["financeSubscriptionName"] == "event_type LIKE 'session.%'"


@pytest.mark.parametrize(
    ("event_type", "tickets", "finance"),
    [
        ("charger.fault.raised", True, False),
        ("charger.fault.cleared", True, False),
        ("charger.offline", True, False),
        ("charger.online", True, False),
        ("registry.refreshed", True, False),
        ("report.uptime", True, False),
        ("session.completed", False, True),
        ("finance.record.created", False, False),
        ("chargerX.offline", False, False),
    ],
)
def test_sql_filters_route_event_types(
    sql_filters: dict[str, str], event_type: str, tickets: bool, finance: bool
) -> None:
    assert evaluate_filter(sql_filters["ticketsSubscriptionName"], event_type) is tickets
    assert evaluate_filter(sql_filters["financeSubscriptionName"], event_type) is finance


# --- Key Vault ---------------------------------------------------------------------------------


def test_key_vault_rbac_purge_protection_and_no_secrets_in_template(
    bicep: dict[str, BicepFile],
) -> None:
    props = bicep[MODULES["keyvault"]].resource("Microsoft.KeyVault/vaults").properties
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True
    assert "accessPolicies" not in props
    for doc in bicep.values():
        assert not doc.resources("Microsoft.KeyVault/vaults/secrets"), doc.path


def test_no_parameter_takes_a_secret_value(bicep: dict[str, BicepFile]) -> None:
    sensitive = re.compile(r"password|connectionstring|apikey|token|routingkey|secretvalue", re.I)
    for doc in bicep.values():
        for name, param in doc.params.items():
            assert not sensitive.search(name), f"{doc.path}: parameter {name}"
            assert all(d["type"] != "secure" for d in param["decorators"]), f"{doc.path}: {name}"


def test_parameters_file_matches_template(main_bicep: BicepFile) -> None:
    data = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    assert set(data["parameters"]) <= set(main_bicep.params)
    assert data["parameters"]["zaptecSubscription"]["value"] == "default"
    assert data["parameters"]["targetSecrets"]["value"] == main_bicep.param_default("targetSecrets")
    for name, param in main_bicep.params.items():
        described = [d for d in param["decorators"] if d["type"] == "description"]
        assert described, f"{name} lacks a description"
        assert len(described[0]["argument"]) > 10, f"{name}: description too short"


# --- Function app ------------------------------------------------------------------------------


def test_flex_consumption_plan(function: BicepFile) -> None:
    plan = function.resource("Microsoft.Web/serverfarms")
    assert plan.config["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan.properties["reserved"] is True


def test_site_hardening_and_python_runtime(function: BicepFile) -> None:
    site = function.resource("Microsoft.Web/sites")
    props = site.properties
    assert site.config["kind"] == "functionapp,linux"
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["scmMinTlsVersion"] == "1.2"
    config = props["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    policies = {
        r.config["name"]: r.properties["allow"]
        for r in function.resources("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    }
    assert policies == {"ftp": False, "scm": False}


# Flex Consumption deprecations: Azure Functions docs, "App settings reference", section "Flex
# Consumption plan deprecations" (learn.microsoft.com/azure/azure-functions/functions-app-
# settings#flex-consumption-plan-deprecations). The table first appeared in the Flex
# Consumption article ("Deprecated properties and settings", MicrosoftDocs/azure-docs
# flex-consumption-plan.md, 2024-04 preview revision), which these lists copy; the four app
# settings marked "later" are named by later revisions of the published table.
FLEX_DEPRECATED_SITE_PROPERTIES = {
    "ftpsState": "FTPS not supported",
    "use32BitWorkerProcess": "32-bit not supported",
    "isReserved": "not valid",
    "IsXenon": "not valid",
    "windowsFxVersion": "not valid",
    "alwaysOn": "not valid",
    "preWarmedInstanceCount": "renamed: alwaysReady in functionAppConfig.scaleAndConcurrency",
    "functionAppScaleLimit": "renamed: maximumInstanceCount",
    "containerSize": "renamed: instanceMemoryMB",
    "javaVersion": "replaced by functionAppConfig.runtime.version",
    "powerShellVersion": "replaced by functionAppConfig.runtime.version",
    "netFrameworkVersion": "replaced by functionAppConfig.runtime.version",
    "linuxFxVersion": "replaced by functionAppConfig.runtime",
}
FLEX_DEPRECATED_APP_SETTINGS = {
    "WEBSITE_NODE_DEFAULT_VERSION",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    # later
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
}


def flex_sites(bicep: dict[str, BicepFile]) -> list[tuple[BicepFile, Resource]]:
    """Every site on a Flex Consumption plan declared next to it."""
    found = []
    for doc in bicep.values():
        flex_plans = {
            plan.symbol
            for plan in doc.resources("Microsoft.Web/serverfarms")
            if plan.config.get("sku", {}).get("tier") == "FlexConsumption"
        }
        for site in doc.resources("Microsoft.Web/sites"):
            if site.properties.get("serverFarmId") in [accessor(p, "id") for p in flex_plans]:
                found.append((doc, site))
    return found


def test_flex_site_sets_no_site_config_flex_rejects(bicep: dict[str, BicepFile]) -> None:
    """ARM answers "site configuration properties ... for Flex Consumption sites is invalid"
    for these (siteConfig.ftpsState broke the deployment; checkov's CKV_AZURE_78 wanted it):
    neither in siteConfig nor on the site's properties, compared case-insensitively."""
    sites = flex_sites(bicep)
    assert [(doc.path, site.symbol) for doc, site in sites] == [(MODULES["function"], "app")]
    banned = {name.lower(): name for name in FLEX_DEPRECATED_SITE_PROPERTIES}
    for doc, site in sites:
        keys = set(site.properties) | set(site.properties.get("siteConfig", {}))
        used = sorted(banned[k.lower()] for k in keys if k.lower() in banned)
        assert used == [], f"{doc.path} {site.symbol}: Flex Consumption rejects {used}"
        # What the plan needs instead lives in functionAppConfig.
        assert {"deployment", "scaleAndConcurrency", "runtime"} <= set(
            site.properties["functionAppConfig"]
        )


def test_flex_site_sets_no_app_setting_flex_deprecates(
    bicep: dict[str, BicepFile], app_settings: dict[str, Any], function: BicepFile
) -> None:
    optional = function.variables["configPathSettings"]["operator"]["operands"]["false_value"]
    names = set(app_settings) | {s["name"] for s in optional}
    assert names & FLEX_DEPRECATED_APP_SETTINGS == set()
    # Target secrets become settings too: their default names must not collide either.
    main = bicep["main.bicep"]
    assert {t["setting"] for t in main.param_default("targetSecrets")}.isdisjoint(
        FLEX_DEPRECATED_APP_SETTINGS
    )


# Child and extension resources that take no `location` (ARM proxy resources). Everything else
# declared (tracked resources, and children such as basicPublishingCredentialsPolicies that ARM
# rejects without one: "The parameter location has an invalid value", Azure/bicep-types-az#1317,
# #1527, #1566; Azure Verified Modules set it) must carry `location`.
NO_LOCATION_TYPES = {
    "Microsoft.Storage/storageAccounts/blobServices",
    "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Microsoft.Storage/storageAccounts/tableServices",
    "Microsoft.Storage/storageAccounts/tableServices/tables",
    "Microsoft.ServiceBus/namespaces/topics",
    "Microsoft.ServiceBus/namespaces/topics/subscriptions",
    "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules",
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.Insights/diagnosticSettings",
}
GLOBAL_TYPES = {"Microsoft.Insights/actionGroups", "Microsoft.Insights/metricAlerts"}


def test_resources_that_need_a_location_have_one(bicep: dict[str, BicepFile]) -> None:
    declared = [(doc, r) for doc in bicep.values() for r in doc.resources() if not r.existing]
    missing = [
        f"{doc.path}: {r.symbol} ({r.type})"
        for doc, r in declared
        if r.type not in NO_LOCATION_TYPES and "location" not in r.config
    ]
    assert missing == []
    for doc, r in declared:
        if r.type in GLOBAL_TYPES:
            assert r.config["location"] == "global", f"{doc.path}: {r.symbol}"
        elif r.type not in NO_LOCATION_TYPES:
            assert r.config["location"] == "location", f"{doc.path}: {r.symbol}"
    policies = bicep[MODULES["function"]].resources(
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    )
    assert len(policies) == 2
    assert all(p.config["location"] == "location" for p in policies)


def test_ingest_always_ready_instances_are_a_parameter(
    function: BicepFile, main_bicep: BicepFile
) -> None:
    assert main_bicep.param_default("ingestAlwaysReadyInstances") == 0
    params = module_params(main_bicep, MODULES["function"])
    assert params["ingestAlwaysReadyInstances"] == "ingestAlwaysReadyInstances"
    scale = function.resource("Microsoft.Web/sites").properties["functionAppConfig"][
        "scaleAndConcurrency"
    ]
    assert scale["alwaysReady"] == "alwaysReady"
    choice = function.variables["alwaysReady"]["operator"]
    assert choice["type"] == "conditional"
    assert choice["operands"]["condition"] == {
        "operator": {
            "type": "greater_than",
            "operands": {"operand_1": "ingestAlwaysReadyInstances", "operand_2": 0},
        }
    }
    assert choice["operands"]["false_value"] == []
    assert choice["operands"]["true_value"] == [
        {"name": "function:ingest", "instanceCount": "ingestAlwaysReadyInstances"}
    ]


def test_app_settings_are_the_contract(app_settings: dict[str, Any]) -> None:
    expected = (
        set(PLAIN_SETTINGS) | set(KEY_VAULT_SETTINGS) | {"APPLICATIONINSIGHTS_CONNECTION_STRING"}
    )
    assert set(app_settings) == expected
    for name, value in PLAIN_SETTINGS.items():
        assert app_settings[name] == value, name
    for name, secret in KEY_VAULT_SETTINGS.items():
        assert app_settings[name] == kv_reference(secret), name
    assert app_settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == accessor(
        "appInsights", "properties", "ConnectionString"
    )
    # Flex Consumption rejects these; the runtime comes from functionAppConfig.
    assert "FUNCTIONS_WORKER_RUNTIME" not in app_settings
    assert "FUNCTIONS_EXTENSION_VERSION" not in app_settings


def test_optional_config_path_and_target_secret_settings(function: BicepFile) -> None:
    optional = function.variables["configPathSettings"]["operator"]
    assert optional["type"] == "conditional"
    assert optional["operands"]["true_value"] == []
    assert optional["operands"]["false_value"] == [
        {"name": "CHARGEOPS_CONFIG_PATH", "value": "chargeopsConfigPath"}
    ]
    loop = function.variables["targetSettings"]
    assert loop["loop_type"]["detail"] == {"item_name": "target", "array_name": "targetSecrets"}
    assert loop["config"] == {
        "name": accessor("target", "setting"),
        "value": "@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${target.secret}/)",
    }


def test_defaults_for_settings_from_parameters(main_bicep: BicepFile) -> None:
    assert main_bicep.param_default("targetSecrets") == [
        {"setting": "PD_ROUTING_KEY", "secret": "pd-routing-key"},
        {"setting": "BILLING_SECRET", "secret": "billing-secret"},
    ]
    assert main_bicep.param_default("zaptecSubscription") == "default"
    assert main_bicep.param_default("chargeopsConfig") == ""
    assert main_bicep.param_default("chargeopsConfigPath") == ""
    assert main_bicep.param_default("registryRefreshSchedule") == "0 */30 * * * *"
    assert main_bicep.param_default("offlineWatchdogSchedule") == "0 */1 * * * *"
    assert main_bicep.param_default("uptimeReportSchedule") == "0 0 6 1 * *"
    for name in ("registryRefreshSchedule", "offlineWatchdogSchedule", "uptimeReportSchedule"):
        assert len(main_bicep.param_default(name).split()) == 6, f"{name}: NCRONTAB has 6 fields"


def test_no_setting_value_carries_a_key(function: BicepFile) -> None:
    text = json.dumps(function.doc)
    for marker in (
        "AccountKey=",
        "SharedAccessKey=",
        "InstrumentationKey=",
        "listKeys",
        "listConnectionStrings",
    ):
        assert marker not in text


def test_module_wiring_feeds_the_settings(main_bicep: BicepFile) -> None:
    params = module_params(main_bicep, MODULES["function"])
    assert params["tableServiceUri"] == accessor("storage", "outputs", "tableServiceUri")
    assert params["identityClientId"] == accessor("identity", "outputs", "clientId")
    assert params["keyVaultUri"] == accessor("keyVault", "outputs", "uri")
    assert params["serviceBusFullyQualifiedNamespace"] == accessor(
        "serviceBus", "outputs", "fullyQualifiedNamespace"
    )
    assert params["targetSecrets"] == "targetSecrets"
    # Roles exist before the app starts.
    assert main_bicep.modules["functionApp"]["config"]["dependsOn"] == ["rbac"]


def test_service_bus_fqdn_output(servicebus: BicepFile) -> None:
    assert (
        servicebus.outputs["fullyQualifiedNamespace"]["value"]
        == "${namespace.name}.servicebus.windows.net"
    )


# --- role assignments --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def role_assignments(bicep: dict[str, BicepFile]) -> list[tuple[str, str, str, Any]]:
    """[(role id, scope symbol, principal, condition)] from rbac.bicep, names checked."""
    rbac = bicep[MODULES["rbac"]]
    roles = rbac.variables["roles"]
    assert set(roles.values()) == set(ROLE.values())
    found = []
    for ra in rbac.resources("Microsoft.Authorization/roleAssignments"):
        role_ref = ra.properties["roleDefinitionId"]["function"]
        assert role_ref["type"] == "subscription_resource_id"
        assert role_ref["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        key = role_ref["parameters"]["resource_name_1"]
        assert key == accessor("roles", key["operator"]["operands"]["operand_2"])
        role_id = roles[key["operator"]["operands"]["operand_2"]]
        scope = ra.config["scope"]
        principal = ra.properties["principalId"]
        # name = guid(scope.id, principalId, roleId): stable across redeployments.
        assert ra.config["name"] == {
            "function": {
                "type": "guid",
                "parameters": {
                    "base_string": accessor(scope, "id"),
                    "extra_string_1": principal,
                    "extra_string_2": key,
                },
            }
        }
        found.append((role_id, scope, principal, ra.condition))
    return found


def test_role_assignments_at_the_narrowest_scope(
    bicep: dict[str, BicepFile], role_assignments: list[tuple[str, str, str, Any]]
) -> None:
    app = {
        (role, scope)
        for role, scope, principal, _ in role_assignments
        if principal == "principalId"
    }
    assert app == {
        (ROLE["sb_sender"], "topic"),
        (ROLE["sb_receiver"], "ticketsSubscription"),
        (ROLE["sb_receiver"], "financeSubscription"),
        (ROLE["blob_owner"], "storage"),
        (ROLE["queue_contributor"], "storage"),
        (ROLE["table_contributor"], "storage"),
        (ROLE["kv_secrets_user"], "vault"),
        (ROLE["metrics_publisher"], "appInsights"),
    }
    rbac = bicep[MODULES["rbac"]]
    types = {r.symbol: r.type for r in rbac.resources()}
    assert types["topic"] == "Microsoft.ServiceBus/namespaces/topics"
    assert types["ticketsSubscription"] == "Microsoft.ServiceBus/namespaces/topics/subscriptions"
    assert types["financeSubscription"] == "Microsoft.ServiceBus/namespaces/topics/subscriptions"
    assert types["storage"] == "Microsoft.Storage/storageAccounts"
    assert types["vault"] == "Microsoft.KeyVault/vaults"
    assert types["appInsights"] == "Microsoft.Insights/components"
    for ra in rbac.resources("Microsoft.Authorization/roleAssignments"):
        if ra.properties["principalId"] == "principalId":
            assert ra.properties["principalType"] == "ServicePrincipal"


def test_deployer_gets_secrets_officer_only_when_given(
    role_assignments: list[tuple[str, str, str, Any]], main_bicep: BicepFile
) -> None:
    deployer = [(r, s, c) for r, s, p, c in role_assignments if p == "deployerPrincipalId"]
    assert len(deployer) == 1
    role, scope, condition = deployer[0]
    assert (role, scope) == (ROLE["kv_secrets_officer"], "vault")
    assert condition == {
        "operator": {
            "type": "not",
            "operands": {
                "bool_value": {
                    "function": {
                        "type": "empty",
                        "parameters": {"item_to_test": "deployerPrincipalId"},
                    }
                }
            },
        }
    }
    assert main_bicep.param_default("deployerPrincipalId") == ""


# --- outputs the deploy script reads, parameters the docs explain ------------------------------


def test_outputs_used_by_deploy_script_exist(main_bicep: BicepFile) -> None:
    script = (INFRA / "deploy.sh").read_text(encoding="utf-8")
    used = set(re.findall(r"deployment_outputs \"?([A-Za-z]+)\.value", script))
    assert used >= {"functionAppName", "functionAppId", "keyVaultName", "keyVaultTargets"}
    assert used <= set(main_bicep.outputs)


def test_docs_explain_every_parameter_and_secret(main_bicep: BicepFile) -> None:
    docs = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    for name in main_bicep.params:
        assert f"`{name}`" in docs, f"docs/deploy.md does not explain parameter {name}"
    for variable in (
        "ZAPTEC_USERNAME",
        "ZAPTEC_PASSWORD",
        "ZAPTEC_SERVICEBUS_CONNECTION",
        "PD_ROUTING_KEY",
        "BILLING_SECRET",
    ):
        assert f"`{variable}`" in docs, f"docs/deploy.md does not explain {variable}"
    for secret in (*KEY_VAULT_SETTINGS.values(), "pd-routing-key", "billing-secret"):
        assert f"`{secret}`" in docs, f"docs/deploy.md does not name secret {secret}"


# --- alerts on chargeops itself ------------------------------------------------------------------


@pytest.fixture(scope="module")
def alerts(bicep: dict[str, BicepFile]) -> BicepFile:
    return bicep[MODULES["alerts"]]


def log_rules(alerts: BicepFile) -> dict[str, Resource]:
    rules = alerts.resources("Microsoft.Insights/scheduledQueryRules")
    return {r.symbol: r for r in rules}


def test_alerts_module_is_wired_to_our_resources(main_bicep: BicepFile) -> None:
    params = module_params(main_bicep, MODULES["alerts"])
    assert params["applicationInsightsName"] == accessor(
        "monitoring", "outputs", "applicationInsightsName"
    )
    assert params["serviceBusNamespaceName"] == accessor("serviceBus", "outputs", "name")
    for name in ("alertEmail", "alertWebhookUrl", "ingestSilenceMinutes", "failureRatePercent"):
        assert params[name] == name
    assert main_bicep.param_default("alertEmail") == ""
    assert main_bicep.param_default("alertWebhookUrl") == ""
    assert main_bicep.param_default("ingestSilenceMinutes") == 30
    assert main_bicep.param_default("failureRatePercent") == 10


def test_one_action_group_with_email_and_webhook_from_parameters(alerts: BicepFile) -> None:
    group = alerts.resource("Microsoft.Insights/actionGroups")
    assert group.properties["enabled"] is True
    assert group.properties["emailReceivers"] == "emailReceivers"
    assert group.properties["webhookReceivers"] == "webhookReceivers"
    for variable, param, item in (
        ("emailReceivers", "alertEmail", {"emailAddress": "alertEmail"}),
        ("webhookReceivers", "alertWebhookUrl", {"serviceUri": "alertWebhookUrl"}),
    ):
        choice = alerts.variables[variable]["operator"]
        assert choice["operands"]["condition"] == {
            "function": {"type": "empty", "parameters": {"item_to_test": param}}
        }
        assert choice["operands"]["true_value"] == []
        (receiver,) = choice["operands"]["false_value"]
        assert item.items() <= receiver.items()
        assert receiver["useCommonAlertSchema"] is True
    # Every rule notifies that group and only that group.
    for rule in log_rules(alerts).values():
        assert rule.properties["actions"] == {"actionGroups": [accessor(group.symbol, "id")]}
        assert rule.properties["enabled"] is True
    metric = alerts.resource("Microsoft.Insights/metricAlerts")
    assert metric.properties["actions"] == [{"actionGroupId": accessor(group.symbol, "id")}]


def test_dead_letter_alert_on_our_namespace(alerts: BicepFile) -> None:
    rule = alerts.resource("Microsoft.Insights/metricAlerts")
    namespace = next(r for r in alerts.resources("Microsoft.ServiceBus/namespaces") if r.existing)
    assert namespace.config["name"] == "serviceBusNamespaceName"
    props = rule.properties
    assert props["scopes"] == [accessor(namespace.symbol, "id")]
    assert props["autoMitigate"] is True
    criteria = props["criteria"]
    assert (
        criteria["'odata.type'"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    )
    (criterion,) = criteria["allOf"]
    assert criterion["criterionType"] == "StaticThresholdCriterion"
    assert criterion["metricNamespace"] == "Microsoft.ServiceBus/namespaces"
    assert criterion["metricName"] == "DeadletteredMessages"
    # Gauge metric (Average/Minimum/Maximum): any dead letter in any entity fires.
    assert criterion["timeAggregation"] == "Maximum"
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    assert criterion["dimensions"] == [
        {"name": "EntityName", "operator": "Include", "values": ["*"]}
    ]


@pytest.fixture(scope="module")
def app_insights_symbol(alerts: BicepFile) -> str:
    (component,) = [r for r in alerts.resources("Microsoft.Insights/components") if r.existing]
    assert component.config["name"] == "applicationInsightsName"
    return component.symbol


def single_condition(rule: Resource) -> dict[str, Any]:
    (condition,) = rule.properties["criteria"]["allOf"]
    assert isinstance(condition, dict)
    return condition


def test_log_rules_query_application_insights(alerts: BicepFile, app_insights_symbol: str) -> None:
    rules = log_rules(alerts)
    assert set(rules) == {"noIngest", "functionFailures", "healthDegraded"}
    for rule in rules.values():
        assert rule.config["kind"] == "LogAlert"
        assert rule.properties["scopes"] == [accessor(app_insights_symbol, "id")]
        assert rule.properties["evaluationFrequency"] == "PT5M"
        assert rule.properties["autoMitigate"] is True


def test_no_ingest_alert(alerts: BicepFile) -> None:
    rule = log_rules(alerts)["noIngest"]
    assert rule.properties["windowSize"] == "PT${ingestSilenceMinutes}M"
    condition = single_condition(rule)
    query = condition["query"]
    # The ingest function's invocations (requests are never sampled: host.json).
    assert 'where name == "ingest"' in query
    assert "summarize invocations = count()" in query
    assert condition["metricMeasureColumn"] == "invocations"
    assert (condition["timeAggregation"], condition["operator"], condition["threshold"]) == (
        "Total",
        "LessThan",
        1,
    )
    host = json.loads((REPO / "host.json").read_text(encoding="utf-8"))
    sampling = host["logging"]["applicationInsights"]["samplingSettings"]
    assert "Request" in sampling["excludedTypes"].split(";")


def test_function_failure_rate_alert(alerts: BicepFile) -> None:
    rule = log_rules(alerts)["functionFailures"]
    assert rule.properties["windowSize"] == "PT15M"
    condition = single_condition(rule)
    assert "countif(success == false) by name" in condition["query"]
    assert "failure_percent = 100.0 * failed / total" in condition["query"]
    assert condition["metricMeasureColumn"] == "failure_percent"
    assert (condition["operator"], condition["threshold"]) == (
        "GreaterThanOrEqual",
        "failureRatePercent",
    )
    assert condition["dimensions"] == [{"name": "name", "operator": "Include", "values": ["*"]}]


def test_health_degraded_alert_reads_what_health_reports(alerts: BicepFile) -> None:
    rule = log_rules(alerts)["healthDegraded"]
    condition = single_condition(rule)
    query = condition["query"]
    assert 'name == "health" and resultCode == "503"' in query  # down: store unreachable
    assert 'name == "registry_refresh" and success == false' in query
    # The app's OpenTelemetry counters (shared/adapters/telemetry.py) and the endpoint's own
    # backlog threshold (shared/app/health.py).
    telemetry = (REPO / "shared" / "adapters" / "telemetry.py").read_text(encoding="utf-8")
    for counter in ("chargeops.messages", "chargeops.events", "chargeops.published"):
        assert f'"{counter}"' in telemetry
        assert f'"{counter}"' in query
    assert '"outcome"' in query
    parking = (REPO / "shared" / "app" / "parking.py").read_text(encoding="utf-8")
    assert '"ingest", "parked"' in parking
    health = (REPO / "shared" / "app" / "health.py").read_text(encoding="utf-8")
    threshold = re.search(r"BACKLOG_STALE = (\d+)", health)
    assert threshold
    assert f"n >= {threshold.group(1)}" in query
    assert (condition["timeAggregation"], condition["operator"], condition["threshold"]) == (
        "Count",
        "GreaterThan",
        0,
    )
    assert condition["dimensions"] == [{"name": "problem", "operator": "Include", "values": ["*"]}]


def test_function_names_in_alert_queries_exist() -> None:
    from tests.azure.conftest import indexed  # noqa: PLC0415 - the app indexes once a process

    names = {f.get_function_name() for f in indexed()}
    text = (INFRA / "modules" / "alerts.bicep").read_text(encoding="utf-8")
    used = set(re.findall(r'name == "(\w+)"', text)) - {
        "chargeops.messages",
        "chargeops.events",
        "chargeops.published",
    }
    assert used
    assert used <= names, used - names
