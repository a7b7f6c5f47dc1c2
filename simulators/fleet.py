"""The simulated fleet: sites (Zaptec installations) and their chargers, seeded.

Shared by the traffic generator and the Zaptec API simulator (``Fleet.as_json`` is the
simulator's fleet file), so sample traffic and the demo API describe the same chargers.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ZONES", "Charger", "Fleet", "Site", "make_fleet", "stable_id"]

_NS = uuid.UUID("2d7c3b9e-4f1a-4c8e-b6d2-9a0e1f3c5b7d")
ZONES = ("Europe/Oslo", "Europe/Stockholm", "Europe/Berlin", "Europe/London")


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "|".join(str(p) for p in parts)))


@dataclass
class Charger:
    charger_id: str
    serial: str
    device_type: int
    name: str
    site_id: str


@dataclass
class Site:
    site_id: str
    name: str
    time_zone: str
    chargers: list[Charger] = field(default_factory=list)


@dataclass
class Fleet:
    sites: list[Site]

    @property
    def chargers(self) -> list[Charger]:
        return [c for s in self.sites for c in s.chargers]

    def as_json(self) -> dict[str, Any]:
        """Fleet file: installations with chargers, as the Zaptec API describes them."""
        return {
            "installations": [
                {
                    "Id": s.site_id,
                    "Name": s.name,
                    "TimeZoneIanaName": s.time_zone,
                    "Active": True,
                    "chargers": [
                        {
                            "Id": c.charger_id,
                            "DeviceId": c.serial,
                            "Name": c.name,
                            "DeviceType": c.device_type,
                            "InstallationId": s.site_id,
                            "Active": True,
                            "IsOnline": True,
                        }
                        for c in s.chargers
                    ],
                }
                for s in self.sites
            ]
        }


def make_fleet(rng: random.Random, sites: int, chargers: int) -> Fleet:
    fleet = Fleet([])
    for s in range(sites):
        site = Site(
            stable_id("site", s), f"Site {chr(65 + s % 26)}{s // 26 or ''}", ZONES[s % len(ZONES)]
        )
        fleet.sites.append(site)
    for i in range(chargers):
        site = fleet.sites[i % sites]
        go = rng.random() < 0.7
        prefix = rng.choice(("ZAP", "GPN")) if go else "ZCS"
        charger = Charger(
            charger_id=stable_id("charger", i),
            serial=f"{prefix}{100000 + i:06d}",
            device_type=4 if go else 1,
            name=f"{site.name} #{len(site.chargers) + 1}",
            site_id=site.site_id,
        )
        site.chargers.append(charger)
    return fleet
