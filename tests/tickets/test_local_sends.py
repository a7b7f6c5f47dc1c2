"""The delivery pipeline's lean paths (issue 16): chains to a local ``file://`` outbox run
on the calling thread, disabled targets are read once per deliverer until this process
changes one, and a target's secrets are only gathered to mask an error. Each keeps what
is sent, recorded and retried exactly as before."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from shared.adapters.http import Sender
from shared.config.loader import default_config
from shared.notify.dispatch import Deliverer
from shared.notify.outbox import DeliveryLog
from shared.notify.send import Fanout, Gate
from shared.notify.stages import Job, Record, Result
from shared.notify.targets import Notice, Target, build_targets
from shared.storage.base import Entry, Store
from shared.storage.schema import TARGET_STATE_KIND
from shared.storage.sqlite import SqliteStore
from tests.support.delegating import DelegatingStore
from tests.tickets.helpers import config_of


def _targets(tmp_path: Path, **urls: str) -> dict[str, Target]:
    config = config_of({name: {"kind": "webhook", "url": url} for name, url in urls.items()})
    return build_targets(config)


def _job(target: str, n: int) -> Job:
    event = {"id": f"e{n}", "type": "charger.offline", "time": "2026-04-26T00:00:00Z",
             "subject": f"c{n}"}  # fmt: skip
    return Job(f"k{target}{n}", target, Notice("notify", event, f"k{target}{n}"), chain=f"c{n}")


class _Where:
    """A stage that notes which thread ran each job (and decides it delivered)."""

    def __init__(self) -> None:
        self.threads: dict[str, str] = {}
        self.order: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            with self.lock:
                self.threads[job.key] = threading.current_thread().name
                self.order.append(job.key)
            yield Job(job.key, job.target, job.notice, chain=job.chain, result=Result("delivered"))


def test_local_outbox_chains_run_on_the_calling_thread_in_order(tmp_path: Path) -> None:
    targets = _targets(tmp_path, box=f"file://{tmp_path}/box/")
    assert targets["box"].local
    where = _Where()
    jobs = [_job("box", n) for n in range(6)]
    done = Fanout(targets, where)(jobs)
    assert [j.key for j in done] == [j.key for j in jobs]
    assert set(where.threads.values()) == {threading.current_thread().name}


def test_network_chains_still_run_in_the_targets_pool_beside_local_ones(tmp_path: Path) -> None:
    targets = _targets(tmp_path, box=f"file://{tmp_path}/box/", hook="https://example.com/h")
    assert not targets["hook"].local
    where = _Where()
    jobs = [_job("box", n) for n in range(3)] + [_job("hook", n) for n in range(3)]
    done = Fanout(targets, where)(jobs)
    assert sorted(j.key for j in done) == sorted(j.key for j in jobs)
    assert all(j.result is not None and j.result.status == "delivered" for j in done)
    me = threading.current_thread().name
    assert {where.threads[f"kbox{n}"] for n in range(3)} == {me}
    assert all(where.threads[f"khook{n}"].startswith("send-hook") for n in range(3))


class _CountingScans(DelegatingStore):
    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.scans = 0

    def scan(self, kind: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        if kind == TARGET_STATE_KIND:
            self.scans += 1
        return super().scan(kind, prefix)


def test_gate_reads_disabled_targets_once_until_this_process_changes_one(
    tmp_path: Path,
) -> None:
    store = _CountingScans(SqliteStore(tmp_path / "s.sqlite3"))
    DeliveryLog(SqliteStore(tmp_path / "s.sqlite3")).disable("old", "410 earlier", "then")
    gate = Gate(DeliveryLog(store))
    for _ in range(5):
        gate.load()
    assert store.scans == 1
    assert gate.reason("old") == "410 earlier"  # what an earlier run disabled is seen
    DeliveryLog(store).disable("hook", "410 now", "now")  # any log on this store
    gate.load()
    gate.load()
    assert store.scans == 3  # after a change here: read on every send, as before
    assert gate.reason("hook") == "410 now"


def test_a_disable_rolled_back_is_not_remembered(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    log = DeliveryLog(store)
    gate = Gate(log)
    gate.load()
    try:
        with store.transaction():
            log.disable("hook", "410", "now")
            gate.load()
            assert gate.reason("hook") == "410"
            raise RuntimeError("the event's consumer failed")
    except RuntimeError:
        pass
    gate.load()
    assert gate.reason("hook") is None


class _Secretive(Target):
    kind = "webhook"
    template_name = "webhook"

    def __init__(self, name: str, config: Any) -> None:
        super().__init__(name, config)
        self.asked = 0

    def secrets(self) -> list[str]:
        self.asked += 1
        return ["s3cr3t"]

    def preview(self, notice: Notice) -> Sequence[Any]:  # type: ignore[override]
        return []


def test_secrets_are_only_gathered_to_mask_an_error(tmp_path: Path) -> None:
    config = config_of({"hook": {"kind": "webhook", "url": "https://example.com/h"}})
    target = _Secretive("hook", config.targets["hook"])
    log = DeliveryLog(SqliteStore(tmp_path / "s.sqlite3"))
    seen: list[Any] = []
    record = Record(log, {"hook": target}, seen.append)
    ok = _job("hook", 1)
    list(record([Job(ok.key, "hook", ok.notice, result=Result("delivered", 200, 1))]))
    assert target.asked == 0
    bad = _job("hook", 2)
    failed = Result("failed", 500, 1, error="HTTP 500: key s3cr3t refused")
    list(record([Job(bad.key, "hook", bad.notice, result=failed)]))
    assert target.asked == 1
    assert seen[-1].error == "HTTP 500: key *** refused"


def test_a_deliverer_on_the_default_outbox_writes_every_file(tmp_path: Path) -> None:
    """End to end through ``route``: one file and one delivered record per event."""
    config = default_config(tmp_path)
    store = SqliteStore(tmp_path / "s.sqlite3")
    deliverer = Deliverer(config, build_targets(config), DeliveryLog(store), Sender(None))  # type: ignore[arg-type]
    for n in range(4):
        event = {"id": f"e{n}", "type": "charger.offline", "time": "2026-04-26T00:00:00Z",
                 "subject": "c1", "data": {}}  # fmt: skip
        deliverer.route(event)
    assert [o.status for o in deliverer.outcomes] == ["delivered"] * 4
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 4
