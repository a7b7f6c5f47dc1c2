"""Every record family and log in the store, by name, with the one module that owns it.

The store (``shared.storage.base``) knows only kinds, keys and logs. Names are spelled
here once, so a newcomer sees the whole database on one page, and a repository is the
only code that reads or writes its family: everything else asks that repository. Names
are short ASCII words (Table Storage partition keys); changing one orphans stored data.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALERT_APPLIED_LOG",
    "ALERT_KIND",
    "ALERT_SITE_KIND",
    "ALERT_TRACE_KIND",
    "BUDGET_KIND",
    "CHARGER_KIND",
    "CURSOR_KIND",
    "DELIVERIES_LOG",
    "DELIVERY_KIND",
    "EVENTS_LOG",
    "FINANCE_REJECTED_LOG",
    "LEDGER_KIND",
    "LEDGER_LOG",
    "META_KIND",
    "OCPI_PEER_KIND",
    "OUTAGES_LOG",
    "OUTAGE_KIND",
    "PARKED_LOG",
    "PENDING_KIND",
    "REGISTRY_JOB_KIND",
    "REGISTRY_KIND",
    "REGISTRY_LOOKUP_KIND",
    "REGISTRY_ORPHAN_KIND",
    "REGISTRY_SITE_KIND",
    "REGISTRY_WANTED_KIND",
    "REJECTIONS_LOG",
    "SILENCE_KIND",
    "SINK_KIND",
    "TARGET_STATE_KIND",
    "UNDECODABLE_LOG",
    "ZAPTEC_STATE_KIND",
    "Cursor",
    "Meta",
]

# -- logs (append-only, deduplicated) ------------------------------------------- owner --
EVENTS_LOG: Final = "events"  # canonical CloudEvents; our topic's outbox  (events.log)
REJECTIONS_LOG: Final = "rejections"  # inputs refused with a reason  (app.ingest_unit)
PARKED_LOG: Final = "parked"  # Zaptec messages kept while config is bad  (app.parking)
DELIVERIES_LOG: Final = "deliveries"  # one line per delivery outcome  (notify.outbox)
ALERT_APPLIED_LOG: Final = "alertapplied"  # events the alert lifecycle took  (tickets.repo)
LEDGER_LOG: Final = "ledger"  # finance records in order  (finance.ledger)
FINANCE_REJECTED_LOG: Final = "finance_rejected"  # sessions finance refused  (finance.ledger)
OUTAGES_LOG: Final = "outages"  # closed outage intervals  (uptime.ledger)
UNDECODABLE_LOG: Final = "undecodable"  # topic messages not our CloudEvent  (app.quarantine)

# -- record families (kind -> key -> value) -------------------------------------------
CHARGER_KIND: Final = "charger"  # per-charger state machine state  (storage.charger_states)
META_KIND: Final = "meta"  # single named records, see Meta  (storage.meta, for their owners)
CURSOR_KIND: Final = "cursor"  # positions in a log, see Cursor  (events.log)
SINK_KIND: Final = "sink"  # replay's output files: seq and size held  (app.output_files)
DELIVERY_KIND: Final = "delivery"  # one per idempotency key  (notify.outbox)
PENDING_KIND: Final = "pending"  # notices waiting for a target  (notify.outbox)
TARGET_STATE_KIND: Final = "target_state"  # targets disabled by a 410  (notify.outbox)
ALERT_KIND: Final = "alert"  # open conditions  (consumers.tickets.repo)
ALERT_SITE_KIND: Final = "alertsite"  # site outage groups  (consumers.tickets.repo)
ALERT_TRACE_KIND: Final = "alerttrace"  # why (no) ticket, per step  (consumers.tickets.repo)
SILENCE_KIND: Final = "silence"  # silences added by command  (consumers.tickets.repo)
LEDGER_KIND: Final = "ledger"  # finance record versions  (consumers.finance.ledger)
OUTAGE_KIND: Final = "outage"  # open outage per charger  (consumers.uptime.ledger)
REGISTRY_KIND: Final = "registry"  # one per charger  (registry.repo)
REGISTRY_SITE_KIND: Final = "registry_site"  # sites  (registry.repo)
REGISTRY_ORPHAN_KIND: Final = "registry_orphan"  # chargers gone from lists  (registry.repo)
REGISTRY_JOB_KIND: Final = "registry_job"  # the refresh job's lease and progress  (registry.repo)
REGISTRY_LOOKUP_KIND: Final = "registry_lookup"  # unknown-charger lookups  (registry.repo)
REGISTRY_WANTED_KIND: Final = "registry_wanted"  # chargers ingest met, unknown  (registry.repo)
BUDGET_KIND: Final = "budget"  # Zaptec API budget windows  (zaptec.limiter.BudgetRecords)
ZAPTEC_STATE_KIND: Final = "zaptec_state"  # cached /state answers  (zaptec.state_cache)
OCPI_PEER_KIND: Final = "ocpi_peer"  # OCPI credentials handshake: peers, tokens  (ocpi.peers)


class Cursor:
    """Keys of ``cursor`` records: how far a reader of the event log has gone."""

    PUBLISHER: Final = "publisher"  # sent to our topic  (adapters.servicebus)
    TICKETS: Final = "tickets"  # local subscription  (app.subscriptions)
    FINANCE: Final = "finance"  # local subscription  (app.subscriptions)
    UPTIME: Final = "uptime"  # local subscription and the outage ledger's catch-up
    PARKED: Final = "parked"  # parked messages fed back in  (app.parking)


class Meta:
    """Keys of ``meta`` records: one value each."""

    CLOCK: Final = "clock"  # ingest's clock  (app.ingest_unit)
    LAST_MESSAGE: Final = "last_message"  # newest Zaptec enqueue  (registry.repo.MessagingRecords)
    MESSAGING: Final = "messaging"  # subscription-idle warning  (registry.repo.MessagingRecords)
    REGISTRY_REFRESH: Final = "registry_refresh"  # last refresh run  (app.timers)
    WATCHDOG: Final = "watchdog"  # last watchdog run  (app.timers)
    WRITER: Final = "writer"  # the one writer's lease, Table Storage  (storage.base.LeaseWriter)
