"""``chargeops dlq``."""

from __future__ import annotations

import argparse
from typing import Any

from shared.cli import UsageError
from shared.commands.common import add_common

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("dlq", help="(in progress)")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise UsageError("dlq: not available in this build yet")
