"""The ``finance`` config section: the contract's example as written, and errors by key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.config.loader import ConfigError, load_config
from shared.consumers.finance.config import Tariff

CONTRACT = """
version: 1
finance:
  currency: EUR
  country_code: NO
  party_id: CPO
  tariffs:
    default: {energy_per_kwh: "0.30", vat_rate: "0.25"}
"""


def test_the_contract_example_validates_as_written() -> None:
    cfg = load_config(text=CONTRACT, env={}).finance
    assert cfg.country_code == "NO"  # YAML 1.2: not False
    default = cfg.tariffs["default"]
    assert isinstance(default, Tariff)  # one tariff, not a history
    assert default.energy_per_kwh == Decimal("0.30")
    assert default.vat_rate == Decimal("0.25")
    assert cfg.tariff_for("any-site") == ("default", default)
    assert cfg.default_time_zone == "UTC"
    assert cfg.pseudonymise_tokens is True


def test_numbers_are_exact_decimals_however_written() -> None:
    text = CONTRACT.replace('energy_per_kwh: "0.30"', "energy_per_kwh: 0.1")
    found = load_config(text=text, env={}).finance.tariff_for(None)
    assert found is not None
    assert found[1].energy_per_kwh == Decimal("0.1")


def test_the_token_key_comes_from_the_environment() -> None:
    text = CONTRACT + "  token_hash_key: ${FINANCE_TOKEN_KEY}\n"
    assert load_config(text=text, env={"FINANCE_TOKEN_KEY": "k"}).finance.token_hash_key == "k"
    with pytest.raises(ConfigError, match="FINANCE_TOKEN_KEY is not set"):
        load_config(text=text, env={})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    site-1: {energy_per_kwh: '0.3', vat_rate: '25'}", "tariffs.site-1.vat_rate"),
        ("    site-1: {energy_per_kwh: '-1'}", "tariffs.site-1.energy_per_kwh"),
        ("    site-1: {energy_per_kwh: '0.3', session_fee: '0.005'}", "finer than the EUR"),
        ("    site-1: {energy_per_kwh: '0.3', price: 1}", "tariffs.site-1.price: unknown key"),
        (
            "    site-1: {energy_per_kwh: '0.3', time_of_use: [{name: p, start: '25:00', "
            "energy_per_kwh: '1'}]}",
            "tariffs.site-1.time_of_use[0].start",
        ),
        ("  default_time_zone: Mars/Olympus", "finance.default_time_zone"),
    ],
)
def test_errors_name_the_key(extra: str, message: str) -> None:
    text = CONTRACT + extra + "\n"
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(text=text, env={})
