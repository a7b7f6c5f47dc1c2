"""Config section ``uptime``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["UptimeConfig"]


class UptimeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    outage_faults: list[str] = Field(default_factory=list)  # fault codes that count as outages
