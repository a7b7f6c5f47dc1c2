"""One writer per state on every backend: a second writer is refused by name while the
first holds the state, and the state is free again once it lets go (issue 17, finding 13).
SQLite holds a lock file; Table Storage a lease record that a killed holder leaves to
expire."""

from __future__ import annotations

import time

import pytest

from shared.storage.base import (
    LEASE_KEY,
    LEASE_KIND,
    LeaseKeeper,
    LeaseWriter,
    StateBusy,
    Store,
)
from tests.stores.conftest import Opener
from tests.support.azurite import Azurite, fresh


def test_a_second_writer_is_refused_until_the_first_lets_go(opener: Opener) -> None:
    first, second = opener(), opener()
    try:
        held = first.writer("replay one")
        with pytest.raises(StateBusy, match="in use by replay one"):
            second.writer("replay two")
        held.renew()  # still the holder
        held.release()
        again = second.writer("replay two")
        with pytest.raises(StateBusy, match="in use by replay two"):
            first.writer("replay one")
        again.release()
    finally:
        first.close()
        second.close()


def test_an_expired_lease_is_taken_over_and_its_holder_told(store: Store) -> None:
    old = LeaseWriter(store, "a killed run", seconds=-1)  # expired the moment it was taken
    new = LeaseWriter(store, "the next run")
    with pytest.raises(StateBusy, match="in use by the next run"):
        old.renew()  # the old holder may not carry on as if it still held the state
    old.release()  # lets go of nothing it no longer holds
    assert store.get(LEASE_KIND, LEASE_KEY) is not None
    new.release()
    assert store.get(LEASE_KIND, LEASE_KEY) is None


def test_a_long_command_keeps_its_lease_on_table_storage(azurite: Azurite) -> None:
    """``deliveries retry`` or ``reconcile`` working longer than the lease in one step
    (a slow vendor) still holds the state: the keeper renews it meanwhile."""
    table = fresh()
    mine, other = azurite.store(table), azurite.store(table)
    writer = LeaseWriter(mine, "deliveries retry", seconds=1.0)
    with LeaseKeeper(writer) as keeper:
        time.sleep(2.5)  # two and a half leases: only renewals can have kept it
        with pytest.raises(StateBusy, match="in use by deliveries retry"):
            LeaseWriter(other, "a replay")
    assert keeper.lost is None
    writer.release()
    LeaseWriter(other, "a replay").release()  # free again once it let go


def test_a_keeper_reports_a_lease_another_writer_took(azurite: Azurite) -> None:
    table = fresh()
    mine, other = azurite.store(table), azurite.store(table)
    writer = LeaseWriter(mine, "reconcile", seconds=0.4)
    time.sleep(0.6)  # expired before anyone renewed it (a stalled process)
    taker = LeaseWriter(other, "a replay")
    with LeaseKeeper(writer) as keeper:
        deadline = time.monotonic() + 10
        while keeper.lost is None and time.monotonic() < deadline:
            time.sleep(0.02)
    assert keeper.lost is not None
    assert "in use by a replay" in str(keeper.lost)
    taker.release()
