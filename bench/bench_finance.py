"""Finance throughput: pricing maths, whole-record building, and ledger posting on SQLite.

Run: ``.venv/bin/python bench/bench_finance.py [--sessions N]``. Prints measured figures;
sessions are seeded-random (0-14 h, 0-80 kWh) against a tariff with a session fee and
three time-of-use periods in Europe/Oslo, half of them with intermediate OCMF readings.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.consumers.finance.cdr import Change, SiteFacts, build_record
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.pricing import MeterPoint, price_session
from shared.consumers.finance.session import BillableSession
from shared.consumers.finance.sites import SiteResolver
from shared.storage.sqlite import SqliteStore

CONFIG = FinanceConfig.model_validate(
    {
        "currency": "NOK",
        "token_hash_key": "bench",
        "default_time_zone": "Europe/Oslo",
        "tariffs": {
            "default": {
                "energy_per_kwh": "2.10",
                "session_fee": "5.00",
                "vat_rate": "0.25",
                "time_of_use": [
                    {"name": "morning", "days": ["mon", "tue", "wed", "thu", "fri"],
                     "start": "06:00", "end": "09:00", "energy_per_kwh": "3.40"},
                    {"name": "evening", "start": "17:00", "end": "21:00", "energy_per_kwh": "3.90"},
                    {"name": "night", "start": "22:00", "end": "06:00", "energy_per_kwh": "1.20"},
                ],
            }
        },
    }
)  # fmt: skip


def sessions(n: int, seed: int = 7) -> list[BillableSession]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(525_600))
        end = start + timedelta(minutes=rng.randrange(840), seconds=rng.randrange(60))
        energy = Decimal(rng.randrange(80_000)) / 1000
        signed = _ocmf(start, end, energy) if i % 2 else None
        out.append(
            BillableSession("zaptec", f"s-{i:08d}", f"c-{i % 200:04d}", "ZAP000123", None, "1",
                            start, end, energy, "completed_session", f"nfc-{i % 97:08X}", signed,
                            True, False, False, end)
        )  # fmt: skip
    return out


def _ocmf(start: datetime, end: datetime, energy: Decimal) -> str:
    def tm(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S,000+00:00 R")

    mid = start + (end - start) / 2
    rows = [
        {"TM": tm(start), "TX": "B", "RV": 1000, "RU": "kWh", "ST": "G"},
        {"TM": tm(mid), "TX": "T", "RV": float(1000 + energy / 3), "ST": "G"},
        {"TM": tm(end), "TX": "E", "RV": float(1000 + energy), "ST": "G"},
    ]
    payload = {"FV": "1.0", "GS": "ZAP000123", "PG": "T1", "RD": rows}
    return "OCMF|" + json.dumps(payload, separators=(",", ":")) + '|{"SD":"00"}'


def measure(label: str, n: int, fn: object) -> None:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    took = time.perf_counter() - started
    print(f"{label:<34} {n:>7,} in {took:6.2f} s = {n / took:>9,.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5000)
    n = parser.parse_args().sessions
    batch = sessions(n)
    zone = ZoneInfo("Europe/Oslo")
    found = CONFIG.tariff_for(None)
    assert found is not None
    tariff = found[1]
    meter = [
        [MeterPoint(s.started_at, Decimal(0)),
         MeterPoint(s.started_at + (s.ended_at - s.started_at) / 3, s.energy_kwh / 2),
         MeterPoint(s.ended_at, s.energy_kwh)]
        for s in batch
    ]  # fmt: skip

    def pricing() -> None:
        for s, m in zip(batch, meter, strict=True):
            price_session(s.started_at, s.ended_at, s.energy_kwh, tariff, tariff_id="default",
                          zone=zone, currency="NOK", places=2, meter=m)  # fmt: skip

    site = SiteFacts(None, None, None, "Europe/Oslo", "default")
    change = Change("bench", "bench", datetime(2026, 6, 1, tzinfo=UTC))

    def records() -> None:
        for s in batch:
            build_record(s, site, CONFIG, record_id=s.session_id, version=1, change=change)

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.sqlite3")
        ledger = Ledger(store, CONFIG, SiteResolver(CONFIG, None))

        def post() -> None:
            for s in batch:
                ledger.post(s, change)

        def repost() -> None:
            for s in batch:
                ledger.post(s, change)

        measure("price_session (ToU, meter split)", n, pricing)
        measure("build_record (OCPI CDR + checks)", n, records)
        measure("ledger.post, new (SQLite file)", n, post)
        measure("ledger.post, redelivered", n, repost)
        store.close()


if __name__ == "__main__":
    main()
