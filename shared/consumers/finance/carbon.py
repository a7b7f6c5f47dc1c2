"""CO2e per session from configured emission factors, never guessed.

The factor is the site's, else the country's (the site location's alpha-3 country, then
the operator's alpha-2 ``country_code``). No factor configured: no carbon figure at all.
The factor's source and method travel with the figure, so a report can cite them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.consumers.finance.config import CarbonConfig, EmissionFactor

__all__ = ["CO2E_QUANTUM", "carbon", "factor_for"]

CO2E_QUANTUM = Decimal("0.001")  # kg: one gram


def factor_for(
    cfg: CarbonConfig, site_id: str | None, countries: tuple[str | None, ...]
) -> tuple[str, EmissionFactor] | None:
    """(where the factor came from, factor) or None."""
    if site_id is not None and site_id in cfg.sites:
        return f"site:{site_id}", cfg.sites[site_id]
    by_code = {code.upper(): factor for code, factor in cfg.countries.items()}
    for country in countries:
        if country and country.upper() in by_code:
            return f"country:{country.upper()}", by_code[country.upper()]
    return None


def carbon(
    energy_kwh: Decimal, cfg: CarbonConfig, site_id: str | None, countries: tuple[str | None, ...]
) -> dict[str, Any] | None:
    """The record's ``carbon`` block, or None when no factor applies."""
    found = factor_for(cfg, site_id, countries)
    if found is None:
        return None
    scope, factor = found
    kg = (energy_kwh * factor.g_per_kwh / 1000).quantize(CO2E_QUANTUM, rounding=ROUND_HALF_UP)
    return {
        "co2e_kg": float(kg),
        "factor_g_per_kwh": float(factor.g_per_kwh),
        "source": factor.source,
        "method": factor.method,
        "year": factor.year,
        "factor_scope": scope,
    }
