"""Options every command shares (``--config``, ``--state``) and how they resolve."""

from __future__ import annotations

import argparse
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from shared.app.compose import config_from_env
from shared.cli import UsageError
from shared.config.loader import Config, ConfigError, load_config
from shared.storage.base import LeaseKeeper, StateBusy, Store, Writer
from shared.storage.factory import StoreConfigError, open_store
from shared.timestamps import parse_utc

__all__ = [
    "NOT_ZAPTEC",
    "add_common",
    "date_window",
    "parse_day",
    "require_state",
    "resolve_config",
    "resolve_store",
    "sole_writer",
]


def add_common(parser: argparse.ArgumentParser, *, out: bool = False) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML configuration (default: $CHARGEOPS_CONFIG / $CHARGEOPS_CONFIG_PATH, "
        "else the built-in default that writes every event to OUT/outbox/)",
    )
    parser.add_argument(
        "--state",
        metavar="PATH|table",
        help="state store: an SQLite file (default OUT/state.sqlite3) or 'table' for Azure "
        "Table Storage ($CHARGEOPS_STORAGE, else $AzureWebJobsStorage)",
    )
    if out:
        parser.add_argument(
            "--out", metavar="DIR", default="out", help="output directory (default ./out)"
        )


#: Every section but ``zaptec``: what commands that never call the Zaptec API resolve, so
#: rendering a PagerDuty notice does not ask for the Zaptec password.
NOT_ZAPTEC: frozenset[str] = frozenset(Config.model_fields) - {"zaptec"}


def resolve_config(
    args: argparse.Namespace, out_dir: Path, *, needs: Collection[str] | None = None
) -> Config:
    """``--config FILE`` (as typed, from the current directory), else the app settings as
    the function app reads them (``shared.app.compose.config_from_env``: the same
    resolver, so a relative ``CHARGEOPS_CONFIG_PATH`` means the same file in both).
    ``needs``: the sections the command uses; ``${VAR}`` only elsewhere may be unset."""
    try:
        if args.config:
            return load_config(args.config, needs=needs)
        return config_from_env(os.environ, out=out_dir, needs=needs)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def resolve_store(args: argparse.Namespace, out_dir: Path) -> Store:
    state = args.state or str(out_dir / "state.sqlite3")
    try:
        return open_store(state)
    except StoreConfigError as exc:
        raise UsageError(str(exc)) from None


def parse_day(text: str, option: str) -> datetime:
    """``YYYY-MM-DD`` is UTC midnight; otherwise an RFC 3339 time (naive = UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        return parse_utc(text)
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: not a date (use YYYY-MM-DD or e.g. 2026-04-01T00:00:00Z)"
        ) from None


def date_window(since: str, until: str) -> tuple[datetime, datetime]:
    """``--from``/``--to`` as the UTC window [from, to)."""
    start, end = parse_day(since, "--from"), parse_day(until, "--to")
    if end <= start:
        raise UsageError("--to must be after --from")
    return start, end


def require_state(args: argparse.Namespace, out_dir: Path) -> None:
    """Commands that read results need a state that exists (replay creates one)."""
    if args.state and args.state != "table" and not Path(args.state).exists():
        raise UsageError(f"--state {args.state}: no such state file")
    if not args.state and not (out_dir / "state.sqlite3").exists():
        raise UsageError(
            f"--state: no state at {out_dir}/state.sqlite3 (run replay, or give --state)"
        )


@contextmanager
def sole_writer(store: Store, purpose: str) -> Iterator[Writer]:
    """The state's one writer for a command that sends or records (``deliveries retry``,
    ``reconcile``): while a replay or another such command holds it, this one refuses
    with exit 2 naming the holder, instead of sending the same outbox twice."""
    try:
        writer = store.writer(purpose)
    except StateBusy as exc:
        raise UsageError(f"{exc}; try again when it has finished") from None
    keeper = LeaseKeeper(writer)
    try:
        with keeper:
            yield writer
    finally:
        writer.release()
    if keeper.lost is not None:
        raise UsageError(
            f"{keeper.lost}: this command lost the state's lease while it worked; "
            "check what the other writer did before running it again"
        )
