"""``chargeops`` command line: argument parsing, exit codes and error presentation.

Exit status (contract): 0 the run completed; 2 usage or configuration error, one line
naming the problem and the file or key; 1 anything else, one line, no traceback (set
``CHARGEOPS_DEBUG=1`` for one).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from shared import __version__
from shared.config.loader import ConfigError

__all__ = ["UsageError", "main"]

COMMANDS = (
    "replay",
    "render",
    "registry",
    "export",
    "reconcile",
    "report",
    "dlq",
    "sample",
    "alerts",
    "silence",
    "config",
    "deliveries",
    "serve",
)


class UsageError(Exception):
    """Bad usage or configuration: exit status 2."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` (a command named on the line) just that command's part,
    so a run imports its own command and not the other twelve (a quarter of a replay's
    start-up). Help, a typo or no command get the whole parser and its usual message."""
    parser = argparse.ArgumentParser(
        prog="chargeops",
        description="EV-charging operations: tickets, finance records and a charger "
        "registry from Zaptec Service Bus traffic.",
    )
    parser.add_argument("--version", action="version", version=f"chargeops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (only,) if only in COMMANDS else COMMANDS:
        import_module(f"shared.commands.{name}").register(sub)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The command word if the line starts with one (options before it are top-level
    ones, which only ask for help or the version: the whole parser answers those)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser(_command_named(sys.argv[1:] if argv is None else argv))
    except ImportError as exc:  # a broken installation, not a usage problem
        print(f"chargeops: failed: incomplete installation ({exc})", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (UsageError, ConfigError) as exc:  # ConfigError: found once work began
        print(f"chargeops: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chargeops: interrupted; run again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("CHARGEOPS_DEBUG"):
            raise
        text = str(exc).splitlines()[0] if str(exc) else ""
        print(f"chargeops: failed: {type(exc).__name__}: {text}", file=sys.stderr)
        return 1
