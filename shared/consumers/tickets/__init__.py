"""Alerts: the lifecycle of a condition (charger fault, charger offline, site outage)
from first sign to closed ticket, site grouping, and their records in the store."""
