"""Options every command shares (``--config``, ``--state``) and how they resolve."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shared.cli import UsageError
from shared.config import Config, ConfigError, default_config, load_config
from shared.stores.base import Store
from shared.stores.factory import StoreConfigError, open_store

__all__ = ["add_common", "resolve_config", "resolve_store"]


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


def resolve_config(args: argparse.Namespace, out_dir: Path) -> Config:
    try:
        if args.config:
            return load_config(args.config)
        if os.environ.get("CHARGEOPS_CONFIG"):
            return load_config(text=os.environ["CHARGEOPS_CONFIG"])
        if os.environ.get("CHARGEOPS_CONFIG_PATH"):
            return load_config(os.environ["CHARGEOPS_CONFIG_PATH"])
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return default_config(out_dir)


def resolve_store(args: argparse.Namespace, out_dir: Path) -> Store:
    state = args.state or str(out_dir / "state.sqlite3")
    try:
        return open_store(state)
    except StoreConfigError as exc:
        raise UsageError(str(exc)) from None
