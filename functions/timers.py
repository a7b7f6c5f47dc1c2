"""Timers -> ``shared.app.timers``: ``offline_watchdog`` (every minute),
``registry_refresh`` (every 30 minutes) and ``uptime_report`` (monthly); schedules come
from app settings (infra/)."""

from __future__ import annotations

import logging

import azure.functions as func

from functions.worker import current

__all__ = ["bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger("chargeops.timers")


@bp.function_name("offline_watchdog")
@bp.timer_trigger(arg_name="timer", schedule="%OFFLINE_WATCHDOG_SCHEDULE%", run_on_startup=False)
def offline_watchdog(timer: func.TimerRequest, context: func.Context) -> None:
    from shared.adapters.telemetry import correlate  # noqa: PLC0415
    from shared.app.timers import watchdog  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="offline_watchdog"):
        if timer.past_due:
            log.info("offline_watchdog is running late")
        watchdog(current())


@bp.function_name("registry_refresh")
@bp.timer_trigger(arg_name="timer", schedule="%REGISTRY_REFRESH_SCHEDULE%", run_on_startup=False)
def registry_refresh(timer: func.TimerRequest, context: func.Context) -> None:
    from shared.adapters.telemetry import correlate  # noqa: PLC0415
    from shared.app.timers import refresh_registry  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="registry_refresh"):
        refresh_registry(current())


@bp.function_name("uptime_report")
@bp.timer_trigger(arg_name="timer", schedule="%UPTIME_REPORT_SCHEDULE%", run_on_startup=False)
def uptime_report(timer: func.TimerRequest, context: func.Context) -> None:
    from shared.adapters.telemetry import correlate  # noqa: PLC0415
    from shared.app.timers import uptime_report  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="uptime_report"):
        uptime_report(current())
