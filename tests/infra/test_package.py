"""The app package infra/deploy.sh uploads: built from this checkout the way the script builds
it (its zip step, run against a fake `az`), compared with what `func azure functionapp
publish` would upload (Core Tools' .funcignore reading, emulated in _funcignore.py) and with a
plain gitignore reading of the same file; then checked for what the app needs and nothing
else. Without .funcignore, publish uploaded .venv/, .tools/, tests and samples (~750 MB)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ._funcignore import CoreToolsIgnore, core_tools_package, gitignore_package
from ._iac import INFRA, REPO

FAKE_AZ = Path(__file__).with_name("fake_az.py")
APP_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "functions", "shared"}
NEVER = {".venv", ".tools", "tests", "bench", "samples", ".git", "out", "__pycache__", "infra"}
MAX_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run deploy.sh's code step (no Core Tools on PATH: the zip path) on this checkout."""
    tmp = tmp_path_factory.mktemp("package")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(
        f'#!/bin/sh\nFAKE_AZ_PROG=az exec "{sys.executable}" "{FAKE_AZ}" "$@"\n'
    )
    (bin_dir / "az").chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    kept = tmp / "package.zip"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp),
        "FAKE_AZ_LOG": str(tmp / "az.log"),
        "FAKE_AZ_KEEP_ZIP": str(kept),
    }
    proc = subprocess.run(
        ["bash", str(INFRA / "deploy.sh"), "-g", "rg-test", "--skip-infra", "--skip-secrets"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert kept.exists(), "deploy.sh did not deploy a zip"
    return kept


@pytest.fixture(scope="module")
def zipped(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return sorted(zf.namelist())


def test_zip_step_and_core_tools_publish_upload_the_same_files(zipped: list[str]) -> None:
    assert zipped == core_tools_package(REPO)


def test_funcignore_means_the_same_under_gitignore_rules(zipped: list[str]) -> None:
    assert zipped == gitignore_package(REPO)


def test_package_holds_the_app_and_nothing_else(zipped: list[str]) -> None:
    assert {name.split("/")[0] for name in zipped} == APP_TOP_LEVEL, (
        "a new top-level entry reached the package: add it to .funcignore (or to APP_TOP_LEVEL)"
    )
    for name in zipped:
        parts = set(name.split("/"))
        assert not parts & NEVER, name
        assert not name.endswith(".pyc"), name


def test_package_holds_every_tracked_app_file_with_templates_and_data(zipped: list[str]) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--", *sorted(APP_TOP_LEVEL)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked, "git ls-files found no app files"
    missing = sorted(set(tracked) - set(zipped))
    assert missing == []
    assert "shared/data/zaptec_constants.json" in zipped
    assert any(n.startswith("shared/notify/templates/") and n.endswith(".j2") for n in zipped)
    assert "shared/py.typed" in zipped


def test_package_is_small(zip_path: Path) -> None:
    assert zip_path.stat().st_size < MAX_BYTES
    with zipfile.ZipFile(zip_path) as zf:
        assert sum(info.file_size for info in zf.infolist()) < MAX_BYTES


@pytest.mark.parametrize(
    ("pattern", "path", "denied"),
    [
        # Patterns match the start of the relative path (Core Tools' GitIgnoreParser) ...
        ("__pycache__", "__pycache__/a.pyc", True),
        ("__pycache__", "shared/__pycache__/a.pyc", False),
        ("**/__pycache__", "shared/__pycache__/a.pyc", True),
        ("*.pyc", "a.pyc", True),
        ("*.pyc", "shared/a.pyc", False),
        ("**/*.pyc", "shared/x/a.pyc", True),
        # ... a leading slash is dropped, a folder name covers what is below it ...
        ("/tests", "tests/infra/test_package.py", True),
        ("/tests", "shared/tests/x.py", False),
        # ... and a name is a prefix, not a whole segment.
        ("/out", "outbox.py", True),
    ],
)
def test_core_tools_pattern_semantics(pattern: str, path: str, denied: bool) -> None:
    assert CoreToolsIgnore(pattern).denies(path) is denied


def test_reinclude_wins_in_core_tools() -> None:
    parser = CoreToolsIgnore("/shared\n!shared/data\n")
    assert parser.denies("shared/app/x.py")
    assert parser.accepts("shared/data/zaptec_constants.json")
