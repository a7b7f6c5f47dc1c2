"""State stores: one contract (``base.Store``), an embedded SQLite default, Azure Tables."""

from shared.storage.base import ANY, AlreadyExists, Conflict, Entry, Store, StoreError

__all__ = ["ANY", "AlreadyExists", "Conflict", "Entry", "Store", "StoreError"]
