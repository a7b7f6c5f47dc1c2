"""Shared fixtures: repository paths and a way to run the real CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHARGEOPS = Path(sys.executable).parent / "chargeops"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run ``chargeops ARGS`` in a subprocess (the installed console script)."""

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        full_env.pop("CHARGEOPS_CONFIG", None)
        full_env.pop("CHARGEOPS_CONFIG_PATH", None)
        if env:
            full_env.update(env)
        return subprocess.run(
            [str(CHARGEOPS), *args],
            cwd=tmp_path,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )

    return run
