"""Fixtures: the Zaptec API simulator (real HTTP on 127.0.0.1:0, or in-process with a
virtual clock), stores on one SQLite file, and configs pointing at the simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from shared.zaptec.config import ZaptecConfig
from simulators.zaptec_api import SimLimits, VirtualClock, ZaptecSimulator, generate_fleet

USER, PASSWORD = "ops@example.com", "pa55-w0rd-not-for-logs"


def config(api_base: str, **overrides: Any) -> ZaptecConfig:
    """A config for the simulator: same shape as the YAML section."""
    return ZaptecConfig.model_validate(
        {"api_base": api_base, "username": USER, "password": PASSWORD, **overrides}
    )


class Virtual:
    """Simulator, store and client on one virtual clock (no real waiting)."""

    def __init__(self, tmp: Path, fleet: dict[str, Any], sim_limits: SimLimits | None = None,
                 **overrides: Any) -> None:  # fmt: skip
        self.clock = VirtualClock()
        self.sim = ZaptecSimulator(fleet, limits=sim_limits, clock=self.clock)
        self.path = tmp / "state.sqlite3"
        self.config = config("http://127.0.0.1:9", **overrides)
        self.stores: list[SqliteStore] = []
        self.store = self.new_store()
        self.client = self.new_client(self.store)

    def new_store(self) -> SqliteStore:
        store = SqliteStore(self.path)
        self.stores.append(store)
        return store

    def new_client(self, store: SqliteStore, **overrides: Any) -> ZaptecClient:
        cfg = self.config.model_copy(update=overrides) if overrides else self.config
        return ZaptecClient(cfg, store, transport=self.sim.transport(), clock=self.clock)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def virtual(tmp_path: Path) -> Iterator[Callable[..., Virtual]]:
    made: list[Virtual] = []

    def make(fleet: dict[str, Any] | None = None, sim_limits: SimLimits | None = None,
             **overrides: Any) -> Virtual:  # fmt: skip
        v = Virtual(tmp_path, fleet or generate_fleet(120, seed=5), sim_limits, **overrides)
        made.append(v)
        return v

    yield make
    for v in made:
        v.close()


@pytest.fixture
def served() -> Iterator[Callable[..., tuple[ZaptecSimulator, str]]]:
    """Start simulators on real sockets (wall clock); stopped after the test."""
    stack: list[Any] = []

    def start(
        fleet: dict[str, Any], limits: SimLimits | None = None
    ) -> tuple[ZaptecSimulator, str]:
        sim = ZaptecSimulator(fleet, limits=limits)
        ctx = sim.serve()
        url = ctx.__enter__()
        stack.append(ctx)
        return sim, url

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)
