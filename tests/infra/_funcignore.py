"""What `func azure functionapp publish` puts in the package, emulated for the tests.

Core Tools' docs say `.funcignore` takes gitignore syntax ("func azure functionapp publish":
"the .funcignore file ... uses the same syntax as .gitignore"). The implementation is
narrower, and this module follows the implementation (Azure/azure-functions-core-tools):

- ``src/Azure.Functions.Cli/Common/GitIgnoreParser.cs`` (a port of codemix/gitignore-parser):
  comment and blank lines dropped, ``!`` lines re-include, one leading ``/`` stripped; each
  pattern is escaped, ``**`` becomes ``(.+)`` and ``*`` becomes ``([^/]+)``, and all patterns are
  joined into ``^((p1)|(p2)...)``: matched against the *start* of the path relative to the app
  folder, so ``__pycache__`` only applies at the top level. ``Accepts(path)`` is
  "a re-include matches, or no exclude matches".
- ``FileSystemHelpers.GetLocalFiles``: every file under the folder except the ``.git`` and
  ``.vscode`` folders and the files ``.funcignore``, ``.gitignore``, ``local.settings.json``,
  ``project.lock.json`` (older releases also ``appsettings.json``), kept when ``Accepts`` says so.

``gitignore_package`` reads the same file with real gitignore rules (pathspec, which mypy
brings into the dev environment), for tools that use those (the GitHub Action, VS Code).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pathspec

ALWAYS_SKIPPED_DIRS = frozenset({".git", ".vscode"})
ALWAYS_SKIPPED_FILES = frozenset(
    {".funcignore", ".gitignore", "appsettings.json", "local.settings.json", "project.lock.json"}
)
_SPECIAL = re.compile(r"[\-\[\]/{}()+?.\\^$|]")


def _regex(pattern: str) -> str:
    escaped = _SPECIAL.sub(lambda m: "\\" + m.group(0), pattern)
    return escaped.replace("**", "(.+)").replace("*", "([^/]+)")


class CoreToolsIgnore:
    """GitIgnoreParser.cs, line for line where it matters."""

    def __init__(self, content: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in content.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            is_negative = line.startswith("!")
            if is_negative:
                line = line[1:]
            if line.startswith("/"):
                line = line[1:]
            (negative if is_negative else positive).append(line)
        self._positive = self._join(positive)
        self._negative = self._join(negative)
        self.reincludes = bool(negative)

    @staticmethod
    def _join(patterns: list[str]) -> re.Pattern[str]:
        if not patterns:
            return re.compile("$^")  # matches nothing, as in the C#
        return re.compile("^((" + ")|(".join(_regex(p) for p in sorted(patterns)) + "))")

    def accepts(self, path: str) -> bool:
        return bool(self._negative.search(path)) or not self._positive.search(path)

    def denies(self, path: str) -> bool:
        return not self.accepts(path)


def _files(root: Path, skip_dir: Callable[[str], bool] = lambda _: False) -> list[str]:
    """Files under root minus the ones Core Tools always leaves out; folders for which
    skip_dir is true are not walked (used only where every file below would be left out)."""
    found = []
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        dirs[:] = [d for d in dirs if d not in ALWAYS_SKIPPED_DIRS and not skip_dir(prefix + d)]
        found += [prefix + f for f in files if f not in ALWAYS_SKIPPED_FILES]
    return sorted(found)


def core_tools_package(root: Path) -> list[str]:
    """Relative paths `func azure functionapp publish` would upload from root."""
    parser = CoreToolsIgnore((root / ".funcignore").read_text(encoding="utf-8"))
    # Patterns match path prefixes, so a denied folder has every file below it denied unless
    # a "!" line re-includes: then walk everything (as Core Tools does), else skip it (.venv).
    files = _files(root) if parser.reincludes else _files(root, parser.denies)
    return [f for f in files if parser.accepts(f)]


def gitignore_package(root: Path) -> list[str]:
    """The same, reading .funcignore with real gitignore rules."""
    spec = pathspec.GitIgnoreSpec.from_lines(
        (root / ".funcignore").read_text(encoding="utf-8").splitlines()
    )
    files = _files(root, lambda folder: spec.match_file(folder + "/"))
    return [f for f in files if not spec.match_file(f)]
