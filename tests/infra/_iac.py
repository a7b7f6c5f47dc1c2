"""Helpers for the infra tests: tool locations, parsed Bicep, and a view on pycep's JSON.

pycep-parser and checkov live in their own venvs under .tools/ (scripts/tools/iac.sh makes
them); the tests call them by subprocess. pycep renders an identifier as a bare string, a
property access as {"operator": {"type": "property_accessor", ...}} and an interpolated string
as its source text ("${name}" kept), which is what the helpers below rely on.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
TOOLS = REPO / ".tools"
CHECKOV = TOOLS / "checkov" / "bin" / "checkov"
PYCEP_PYTHON = TOOLS / "pycep" / "bin" / "python"
SHELLCHECK = TOOLS / "pycep" / "bin" / "shellcheck"

_DUMP_SCRIPT = """
import json, sys
from pathlib import Path
from pycep import BicepParser

root = Path(sys.argv[1])
out = {}
for path in sorted(root.rglob("*.bicep")):
    out[path.relative_to(root).as_posix()] = BicepParser().parse(file_path=path)
json.dump(out, sys.stdout, default=str)
"""


def require_tool(path: Path) -> Path:
    """Fail (never skip) with the fix when an IaC tool is missing."""
    if not path.exists():
        pytest.fail(
            f"{path.relative_to(REPO)} is missing: run ./test.sh (or bash scripts/tools/iac.sh) "
            "to install the IaC checkers",
            pytrace=False,
        )
    return path


def parse_bicep_tree(root: Path = INFRA) -> dict[str, dict[str, Any]]:
    """Parse every .bicep file under root with pycep-parser 0.7.1; {relative path: JSON}."""
    python = require_tool(PYCEP_PYTHON)
    proc = subprocess.run(
        [str(python), "-c", _DUMP_SCRIPT, str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"pycep could not parse the Bicep files:\n{proc.stderr[-4000:]}")
    result: dict[str, dict[str, Any]] = json.loads(proc.stdout)
    return result


def run_checkov(directory: Path = INFRA) -> dict[str, Any]:
    """Run checkov (framework bicep, offline) on directory and return its JSON report."""
    checkov = require_tool(CHECKOV)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_OUTPUT_COLOR": "1"}
    proc = subprocess.run(
        [
            str(checkov),
            "-d",
            str(directory),
            "--framework",
            "bicep",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    if isinstance(report, list):  # one report per framework; we ask for one
        (report,) = report
    assert isinstance(report, dict)
    return report


def accessor(*parts: str) -> Any:
    """pycep's JSON for a.b.c (property access)."""
    node: Any = parts[-1]
    for part in reversed(parts[:-1]):
        node = {
            "operator": {
                "type": "property_accessor",
                "operands": {"operand_1": part, "operand_2": node},
            }
        }
    return node


def nested(*parts: str) -> Any:
    """pycep's JSON for a::b::c (nested resource access)."""
    node: Any = parts[-1]
    for part in reversed(parts[:-1]):
        node = {
            "operator": {
                "type": "nested_resource_accessor",
                "operands": {"operand_1": part, "operand_2": node},
            }
        }
    return node


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str
    config: dict[str, Any]
    condition: Any = None
    existing: bool = False

    @property
    def properties(self) -> dict[str, Any]:
        props = self.config.get("properties", {})
        assert isinstance(props, dict)
        return props


@dataclass(frozen=True)
class BicepFile:
    """One parsed .bicep file."""

    path: str
    doc: dict[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.doc.get("parameters", {}))

    @property
    def variables(self) -> dict[str, Any]:
        return {name: v["value"] for name, v in self.doc.get("variables", {}).items()}

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.doc.get("outputs", {}))

    @property
    def modules(self) -> dict[str, Any]:
        return dict(self.doc.get("modules", {}))

    def resources(self, type_: str | None = None) -> list[Resource]:
        found = []
        for symbol, res in self.doc.get("resources", {}).items():
            config = res["config"]
            condition = None
            if set(config) == {"condition", "config"}:  # `= if (cond) { ... }`
                condition, config = config["condition"], config["config"]
            if type_ is None or res["type"] == type_:
                found.append(
                    Resource(symbol, res["type"], config, condition, bool(res.get("existing")))
                )
        return found

    def resource(self, type_: str) -> Resource:
        found = self.resources(type_)
        assert len(found) == 1, f"{self.path}: expected one {type_}, found {len(found)}"
        return found[0]

    def param_default(self, name: str) -> Any:
        assert name in self.params, f"{self.path}: no parameter {name}"
        return self.params[name].get("default")


def module_params(main: BicepFile, path: str) -> dict[str, Any]:
    """The params main.bicep passes to the module at path (e.g. 'modules/storage.bicep')."""
    for module in main.modules.values():
        if module["detail"]["path"] == path:
            config = module["config"]
            params = config["params"]
            assert isinstance(params, dict)
            return params
    raise AssertionError(f"main.bicep does not use module {path}")


def unescape(text: str) -> str:
    """A Bicep single-quoted string as pycep returns it -> its value."""
    return text.replace("\\'", "'").replace("\\\\", "\\")
