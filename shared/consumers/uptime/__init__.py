"""Availability: an outage ledger from offline periods and faults, and the uptime report."""
