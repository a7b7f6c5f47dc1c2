"""The Service Bus subscription filters in Bicep are the event catalogue's, word for word.

``shared.events.catalogue`` decides which event types each subscription of our topic
takes; ``infra/modules/servicebus.bicep`` writes the same decision as SQL. The Bicep stays
hand-written (it is what is reviewed and deployed), so this test is what makes editing one
without the other fail.
"""

from __future__ import annotations

import pytest

from shared.adapters.servicebus import properties
from shared.events import catalogue

from ._iac import BicepFile, module_params, unescape
from .test_bicep_structure import evaluate_filter

SERVICEBUS = "modules/servicebus.bicep"
RULE = "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules"
SUBSCRIPTION = "Microsoft.ServiceBus/namespaces/topics/subscriptions"


@pytest.fixture(scope="module")
def deployed_filters(bicep: dict[str, BicepFile], main_bicep: BicepFile) -> dict[str, str]:
    """{subscription name as deployed: its SQL filter}, names resolved through main.bicep."""
    module = bicep[SERVICEBUS]
    passed = module_params(main_bicep, SERVICEBUS)  # e.g. ticketsSubscriptionName: 'tickets'
    name_of = {s.symbol: passed[s.config["name"]] for s in module.resources(SUBSCRIPTION)}
    filters: dict[str, str] = {}
    for rule in module.resources(RULE):
        assert rule.properties["filterType"] == "SqlFilter"
        filters[name_of[rule.config["parent"]]] = unescape(
            rule.properties["sqlFilter"]["sqlExpression"]
        )
    return filters


def test_bicep_filters_equal_the_catalogue(deployed_filters: dict[str, str]) -> None:
    assert deployed_filters == {s: catalogue.sql_filter(s) for s in catalogue.SUBSCRIPTIONS}


def test_filters_read_the_property_the_publisher_sets() -> None:
    assert properties({"type": "charger.offline"})[catalogue.FILTER_PROPERTY] == "charger.offline"


@pytest.mark.parametrize(
    "name",
    [
        *sorted(catalogue.names()),
        "registry.refreshed",  # open families: a new name routes like its family
        "report.energy",
        "chargerX.offline",
        "session",
    ],
)
def test_service_bus_routes_every_type_as_the_catalogue_says(
    deployed_filters: dict[str, str], name: str
) -> None:
    taken = tuple(s for s in catalogue.SUBSCRIPTIONS if evaluate_filter(deployed_filters[s], name))
    assert taken == catalogue.subscriptions_for(name)
    known = catalogue.lookup(name)
    if known is not None:  # published types reach their family's subscriptions, others none
        assert (taken if known.on_topic else ()) == known.subscriptions
        assert bool(taken) is known.on_topic, f"{name}: on_topic vs the filters"
