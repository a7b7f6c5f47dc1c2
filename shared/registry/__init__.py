"""The charger registry: kept fresh from the Zaptec API within its budget.

- ``job.refresh`` — the resumable refresh (timer function and ``chargeops registry``).
- ``lookup.UnknownChargerLookup`` — one lookup per unknown charger seen on the bus.
- ``messaging`` — connection-details and idle checks of the Zaptec subscription.
- Reading the registry: ``shared.registry.view``.
- Its records in the store (the only code touching them): ``shared.registry.repo``.
"""

from shared.registry.job import RefreshResult, refresh
from shared.registry.lookup import UnknownChargerLookup

__all__ = ["RefreshResult", "UnknownChargerLookup", "refresh"]
