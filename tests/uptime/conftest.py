"""A small replayed state with hand-made outages (built once per module through the real
CLI), its config, and the figures worked out by hand for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.storage.sqlite import SqliteStore
from tests.support.builders import SITE_A, SITE_B, register
from tests.support.cli import console
from tests.uptime.helpers import at, frame, write_lines

CONFIG = f"""
detection: {{silence_after: "off"}}
uptime: {{outage_faults: [RELAY_WELDED]}}
silences:
  - match: {{sites: [{SITE_A}], types: [charger.offline]}}
    starts: 2026-04-26T10:00:00Z
    ends: 2026-04-26T12:00:00Z
    comment: planned maintenance
"""
RELAY_BIT = str(1 << 49)  # RELAY_WELDED on a Go (DeviceType 4)


@dataclass(frozen=True)
class Replayed:
    state: Path
    config: Path
    folder: Path


def capture() -> list[str]:
    """Charger 1 (site A): offline 10-11 and RELAY_WELDED 10:30-11:30, with a site silence
    on offline 10-12. Charger 2 (A): nothing. Charger 3 (B): offline 25th 23:00 to 01:00.
    Charger 4 (B): offline from 22:00, never back."""
    lines = [frame(n, -2, at(-2), "1") for n in (1, 2, 3, 4)]
    lines += [frame(n, 804, at(-2) + (at(0.01) - at(0)), "0") for n in (1, 2, 3, 4)]
    lines += [frame(3, -2, at(-1), "0"), frame(3, -2, at(1), "1")]
    lines += [frame(1, -2, at(10), "0"), frame(1, 804, at(10.5), RELAY_BIT)]
    lines += [frame(1, -2, at(11), "1"), frame(1, 804, at(11.5), "0")]
    lines += [frame(4, -2, at(22), "0"), frame(2, 150, at(23), "1.0")]
    return lines


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    folder = tmp_path_factory.mktemp("uptime")
    cfg = folder / "chargeops.yaml"
    cfg.write_text(CONFIG, "utf-8")
    state = folder / "out" / "state.sqlite3"
    state.parent.mkdir()
    with SqliteStore(str(state)) as store:
        register(store, {1: SITE_A, 2: SITE_A, 3: SITE_B, 4: SITE_B})
    cap = write_lines(folder / "capture.jsonl", capture())
    args = ("replay", str(cap), "--out", "out", "--config", str(cfg), "--quiet")
    done = console(*args, cwd=folder, timeout=120)
    assert done.returncode == 0, done.stderr
    return Replayed(state, cfg, folder)
