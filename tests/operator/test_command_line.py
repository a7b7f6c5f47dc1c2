"""The command line as a whole: ``chargeops`` imports only the command it runs (issue 16),
and what needs every command (help, a typo, no command) still gets all of them."""

from __future__ import annotations

import subprocess
import sys

from shared.cli import COMMANDS
from tests.support.cli import RunCli


def test_help_lists_every_command(run_cli: RunCli) -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    for name in COMMANDS:
        assert name in done.stdout


def test_a_mistyped_command_is_a_usage_error_naming_the_commands(run_cli: RunCli) -> None:
    done = run_cli("replya")
    assert done.returncode == 2
    assert "invalid choice: 'replya'" in done.stderr
    assert "'deliveries'" in done.stderr


def test_no_command_is_a_usage_error(run_cli: RunCli) -> None:
    done = run_cli()
    assert done.returncode == 2
    assert "COMMAND" in done.stderr


def test_version_answers_without_a_command(run_cli: RunCli) -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("chargeops ")


def test_running_one_command_imports_no_other() -> None:
    """``chargeops sample --help`` in a fresh interpreter: no other command module loaded."""
    code = (
        "import sys; from shared.cli import main\n"
        "try:\n    main(['sample', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('shared.commands.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )  # fmt: skip
    loaded = done.stdout.strip().splitlines()[-1]
    others = [n for n in COMMANDS if n != "sample" and f"'shared.commands.{n}'" in loaded]
    assert "'shared.commands.sample'" in loaded
    assert others == []
