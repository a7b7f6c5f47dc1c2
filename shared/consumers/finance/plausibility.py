"""Plausibility: figures no meter could have produced are not billed silently.

A signature proves who wrote a number, not that the number makes sense. Each finding
becomes a review flag with a stable reason code (docs/finance.md "Plausibility"), and
the replay summary counts records under review by reason:

- ``energy_implausible``: more energy than the connector's maximum power over the session
  could deliver (``finance.max_power_kw`` per power type, IEC ceilings by default), or
  more than 100,000 kWh;
- ``reading_implausible``: a billing-register reading below zero, or readings that run
  backwards (a meter register only counts up);
- ``clock_unreliable``: the charger says its clock was not reliable (``ReliableClock:
  false``), so the session times, and the time-of-use price that depends on them, are
  doubtful;
- ``ocmf_time_outside_session``: a signed reading timed outside the session (beyond
  ``finance.time_tolerance``), so the signed record may belong to another session. A
  reading whose clock the meter itself marks unsynchronised (``U``) is not compared.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from shared.consumers.finance.session import BillableSession
from shared.consumers.finance.signed import Flag, SignedCheck

__all__ = ["ABSURD_KWH", "plausibility_flags"]

ABSURD_KWH = Decimal(100_000)
_SLACK_KWH = Decimal("0.05")  # meter resolution and rounding of short sessions


def plausibility_flags(
    session: BillableSession,
    check: SignedCheck,
    billed_kwh: Decimal,
    *,
    max_power_kw: Decimal,
    tolerance: timedelta,
) -> list[Flag]:
    """Review flags for figures that cannot be right (empty: nothing implausible)."""
    flags: list[Flag] = []
    hours = Decimal((session.ended_at - session.started_at) / timedelta(seconds=1)) / 3600
    ceiling = max_power_kw * hours + _SLACK_KWH
    energy = max(billed_kwh, session.energy_kwh)
    if energy > ABSURD_KWH:
        flags.append(Flag("energy_implausible", f"{energy} kWh is beyond any session", True))
    elif energy > ceiling:
        flags.append(
            Flag(
                "energy_implausible",
                f"{energy} kWh in {hours:.2f} h exceeds {max_power_kw} kW x duration",
                True,
            )
        )
    flags.extend(_readings(check))
    if session.reliable_clock is False:
        flags.append(Flag("clock_unreliable", "charger reports ReliableClock false", True))
    flags.extend(_times(session, check, tolerance))
    return flags


def _readings(check: SignedCheck) -> list[Flag]:
    if check.ocmf is None:
        return []
    values = [r.kwh for r in check.ocmf.billing if r.kwh is not None]
    if any(v < 0 or v > ABSURD_KWH * 1000 for v in values):
        return [
            Flag("reading_implausible", "a billing-register reading is negative or absurd", True)
        ]
    if any(b < a for a, b in itertools.pairwise(values)):
        return [Flag("reading_implausible", "billing-register readings run backwards", True)]
    if check.energy_kwh is not None and check.energy_kwh < 0:
        return [Flag("reading_implausible", f"signed energy {check.energy_kwh} kWh", True)]
    return []


def _times(session: BillableSession, check: SignedCheck, tolerance: timedelta) -> list[Flag]:
    if check.ocmf is None:
        return []
    earliest, latest = session.started_at - tolerance, session.ended_at + tolerance
    for r in check.ocmf.billing:
        if r.time is None or r.time_status == "U":
            continue
        if not earliest <= r.time <= latest:
            detail = f"reading {r.tx or '?'} at {r.time:%Y-%m-%dT%H:%M:%SZ} is outside the session"
            return [Flag("ocmf_time_outside_session", detail, True)]
    return []
