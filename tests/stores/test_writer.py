"""One writer per state on every backend: a second writer is refused by name while the
first holds the state, and the state is free again once it lets go (issue 17, finding 13).
SQLite holds a lock file; Table Storage a lease record that a killed holder leaves to
expire."""

from __future__ import annotations

import pytest

from shared.storage.base import LEASE_KEY, LEASE_KIND, LeaseWriter, StateBusy, Store
from tests.stores.conftest import Opener


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
