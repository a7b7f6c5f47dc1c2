"""Config section ``finance`` (currency, OCPI party, tariffs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FinanceConfig", "Tariff"]


class Tariff(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    energy_per_kwh: str
    vat_rate: str = "0"


class FinanceConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    currency: str = "EUR"
    country_code: str = Field(default="NO", min_length=2, max_length=2)
    party_id: str = Field(default="CPO", min_length=3, max_length=3)
    tariffs: dict[str, Tariff] = Field(default_factory=dict)
