"""Running ``chargeops`` from tests: the installed console script in a subprocess (end to
end), or ``shared.cli.main`` in this process (argument and usage handling: no process
start, no import of every command per call).

Both clear ``CHARGEOPS_CONFIG``/``CHARGEOPS_CONFIG_PATH`` (a developer's settings must not
leak in) and answer a ``CompletedProcess``, so a test reads them the same way. The
fixtures over them (``run_cli``, ``cli_main``) are in ``tests/conftest.py``. A test that
starts ``CHARGEOPS`` itself (to kill it mid-run) gives it ``environment()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from shared.cli import main

__all__ = ["CHARGEOPS", "RunCli", "console", "environment", "in_process"]

CHARGEOPS = Path(sys.executable).parent / "chargeops"
CONFIG_VARIABLES = ("CHARGEOPS_CONFIG", "CHARGEOPS_CONFIG_PATH")

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``chargeops`` subprocess: this one, unbuffered, without the
    config variables, then ``env``."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in CONFIG_VARIABLES:
        full_env.pop(name, None)
    full_env.update(env or {})
    return full_env


def console(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = False,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``chargeops ARGS`` in a subprocess (the installed console script) in ``cwd``."""
    return subprocess.run(
        [str(CHARGEOPS), *args],
        cwd=cwd,
        env=environment(env),
        input=input,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def in_process(
    args: tuple[str, ...],
    *,
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``shared.cli.main(args)`` in this process, in ``cwd``, with ``env`` set: its exit
    status (``main``'s return, or argparse's ``SystemExit``) and what it printed."""
    monkeypatch.chdir(cwd)
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()  # what the test printed before is not the command's
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse: usage errors (2), --help and --version (0)
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["chargeops", *args], status, out, err)
