"""Finance records: sessions -> priced, signed OCPI CDRs in a versioned ledger."""
