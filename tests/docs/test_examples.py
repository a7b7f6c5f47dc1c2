"""Every example in the docs runs: a reader copies it, so it must work as written.

- A ```yaml block that is a whole configuration (it has ``version:`` or ``targets:``) is
  loaded with the project's loader, its ``${NAME}`` variables set to dummy but well-formed
  values. A block whose top-level keys are all sections of the configuration
  (``alerting:``, ``finance:``, ``routes:``…) is loaded the same way inside a minimal
  configuration (stub webhook targets for the names its routes use). Anything else must
  at least be YAML.
- A ```console / ```sh / ```bash line that runs ``chargeops`` must be accepted by the CLI
  parser. Optional ``[...]`` parts are kept and of ``a|b`` the first is taken; a line
  still holding placeholders (``<id>``, ``FILE``, ``…``) is skipped.

A block that is deliberately not a working example says so with an HTML comment on the
line before its fence: ``<!-- example: not-config -->`` (YAML, but not a configuration:
only parsed) or ``<!-- example: invalid -->`` (a configuration that must be refused).
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from shared.cli import build_parser
from shared.config.loader import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

FENCE = re.compile(r"^\s*```\s*([\w-]*)\s*$")
MARK = re.compile(r"^\s*<!--\s*example:\s*([\w\s,-]+?)\s*-->\s*$")
MARKS = frozenset({"not-config", "invalid"})
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SHELL = frozenset({"console", "sh", "bash", "shell"})
SEPARATORS = frozenset({"&&", "||", ";", "|"})
PLACEHOLDER = re.compile(r"[<>…]|\.\.\.|^[A-Z][A-Z0-9_]+$")
STUB_URL = "https://hooks.example.com/chargeops"


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marks: frozenset[str]

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    found: list[Block] = []
    lines = doc.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and not FENCE.match(lines[i]):
            i += 1
        marks: frozenset[str] = frozenset()
        before = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        if m := MARK.match(before):
            marks = frozenset(w.strip() for w in re.split(r"[\s,]+", m.group(1)) if w.strip())
            unknown = marks - MARKS
            assert not unknown, f"{doc.name}:{start + 1}: unknown example mark {unknown}"
        body = "\n".join(lines[start + 1 : i]) + "\n"
        found.append(Block(doc, start + 1, opening.group(1).lower(), body, marks))
        i += 1
    return found


ALL = [b for doc in DOCS for b in blocks(doc)]
YAML_BLOCKS = [b for b in ALL if b.lang in ("yaml", "yml")]
SHELL_BLOCKS = [b for b in ALL if b.lang in SHELL]


def dummy(name: str) -> str:
    """A value of the right shape for ``${name}``, judged by its name."""
    upper = name.upper()
    if "SECRET" in upper:  # Standard Webhooks: whsec_ + base64 of the key
        return "whsec_" + base64.b64encode(bytes(range(24))).decode()
    if upper.endswith("URL"):
        return STUB_URL
    return f"dummy-{name.lower().replace('_', '-')}"


def env_for(text: str) -> dict[str, str]:
    return {name: dummy(name) for name in VAR.findall(text)}


def routed_targets(raw: dict[str, object]) -> set[str]:
    routes = raw.get("routes")
    names: set[str] = set()
    if isinstance(routes, list):
        for route in routes:
            if isinstance(route, dict) and isinstance(route.get("targets"), list):
                names.update(str(t) for t in route["targets"])
    return names


def as_config(block: Block) -> str | None:
    """The text to load as a configuration, or None when the block is not one."""
    raw = yaml.safe_load(block.text)
    if not isinstance(raw, dict) or not raw:
        return None
    if "version" in raw or "targets" in raw:
        return block.text
    if not set(raw) <= set(Config.model_fields):
        return None  # a fragment, not a section: parsing it was the check
    stubs = sorted(routed_targets(raw))
    if not stubs:
        return block.text
    lines = [f"  {name}: {{kind: webhook, url: {STUB_URL!r}}}" for name in stubs]
    return block.text + "targets:\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.where)
def test_every_yaml_example_loads(block: Block) -> None:
    try:
        yaml.safe_load(block.text)
    except yaml.YAMLError as exc:
        pytest.fail(f"{block.where}: not valid YAML: {exc}")
    if "not-config" in block.marks:
        return
    text = as_config(block)
    if text is None:
        return
    if "invalid" in block.marks:
        with pytest.raises(ConfigError):
            load_config(text=text, env=env_for(text))
        return
    try:
        load_config(text=text, env=env_for(text))
    except ConfigError as exc:
        pytest.fail(f"{block.where}: the configuration example does not load: {exc}")


def commands(block: Block) -> list[tuple[int, list[str]]]:
    """(line, argv after ``chargeops``) of every chargeops command the block runs."""
    found: list[tuple[int, list[str]]] = []
    logical: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for offset, raw in enumerate(block.text.splitlines(), start=block.line + 1):
        line = raw
        if pending is None:
            if block.lang == "console":
                if not line.startswith("$ "):
                    continue  # output, not a command
                line = line[2:]
            pending = (offset, "")
        pending = (pending[0], pending[1] + line)
        if line.rstrip().endswith("\\"):
            pending = (pending[0], pending[1].rstrip()[:-1] + " ")
            continue
        logical.append(pending)
        pending = None
    for offset, line in logical:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue  # shell syntax shlex does not read (heredocs, $'…'): not a chargeops line
        command: list[str] = []
        for word in [*words, ";"]:
            if word not in SEPARATORS:
                command.append(word)
                continue
            if command and command[0] == "chargeops":
                found.append((offset, command[1:]))
            command = []
    return found


def expand(argv: list[str]) -> list[str]:
    """Optional parts kept, the first of alternatives taken, a placeholder (``FILE``,
    ``<id>``) given a stand-in value: the parser checks the shape, not the value."""
    out: list[str] = []
    for given in argv:
        word = given.strip("[]").split("|", 1)[0]
        if not word:
            continue
        out.append("x" if PLACEHOLDER.search(word) else word)
    return out


CLI_LINES = [
    (block, offset, argv)
    for block in SHELL_BLOCKS
    for offset, argv in commands(block)
    if "invalid" not in block.marks
]


@pytest.mark.parametrize(
    ("block", "offset", "argv"),
    CLI_LINES,
    ids=[f"{b.doc.relative_to(ROOT)}:{o}" for b, o, _ in CLI_LINES],
)
def test_every_chargeops_command_in_the_docs_parses(
    block: Block, offset: int, argv: list[str]
) -> None:
    words = expand(argv)
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:
        if exc.code not in (0, None):
            pytest.fail(f"{block.doc.relative_to(ROOT)}:{offset}: chargeops {shlex.join(argv)}")


def test_the_examples_are_found() -> None:
    """The extraction itself: if it finds nothing, every test above passes vacuously."""
    configs = [b for b in YAML_BLOCKS if "not-config" not in b.marks and as_config(b)]
    assert len(configs) >= 10
    checked = [argv for _, _, argv in CLI_LINES if expand(argv) is not None]
    assert len(checked) >= 3


def test_marks_are_used_sparingly() -> None:
    marked = [b.where for b in ALL if b.marks]
    assert len(marked) <= 3, marked
