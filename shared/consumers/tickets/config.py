"""Config section ``alerting``: the alert lifecycle's timing (docs/tickets.md).

Beside the tickets consumer, the only reader: grace before an offline charger alerts, hold
before a fault does, flap damping, site grouping and reminders.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from shared.config.fields import ConfigModel, Duration, OffDuration

__all__ = ["Alerting"]


class Alerting(ConfigModel):
    """Alert lifecycle timing (docs/tickets.md): grace, hold, flap damping, grouping."""

    offline_grace: Duration = timedelta(minutes=10)
    fault_hold: Duration = timedelta(0)
    flap_window: Duration = timedelta(minutes=5)
    site_outage_threshold: int = Field(default=3, ge=0)
    site_outage_window: Duration = timedelta(minutes=5)
    repeat_interval: OffDuration = None

    @field_validator("repeat_interval")
    @classmethod
    def _sane_repeat(cls, value: timedelta | None) -> timedelta | None:
        """A reminder more often than every minute would be noise, not a reminder."""
        if value is not None and value < timedelta(minutes=1):
            raise ValueError("must be at least 1m (or off)")
        return value
