"""Where a session happened: site, names and the IANA time zone its tariff is read in.

The zone is the site location's ``time_zone`` from config when set (an override), else
the charger registry's, else ``finance.default_time_zone`` (itself UTC unless set); an
unknown or invalid zone never stops a record, it is flagged in it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.consumers.finance.cdr import SiteFacts
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.session import BillableSession
from shared.registry.view import RegistryView

__all__ = ["SiteResolver"]


class SiteResolver:
    """Callable ``session -> SiteFacts`` over the registry view and the finance config."""

    def __init__(self, config: FinanceConfig, registry: RegistryView | None) -> None:
        self.config, self.registry = config, registry

    def __call__(self, s: BillableSession) -> SiteFacts:
        info = None
        if self.registry is not None and s.vendor == "zaptec":
            info = self.registry.lookup(s.charger_id)
        site_id = s.site_id or (info.site_id if info else None)
        location = self.config.location_for(site_id)
        if location.time_zone:
            zone, source = location.time_zone, "location"
        elif info is not None and info.time_zone and _valid(info.time_zone):
            zone, source = info.time_zone, "registry"
        else:
            zone, source = self.config.default_time_zone, "default"
        return SiteFacts(
            site_id=site_id,
            site_name=info.site_name if info else None,
            charger_name=info.name if info else None,
            time_zone=zone,
            time_zone_source=source,
        )


def _valid(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
