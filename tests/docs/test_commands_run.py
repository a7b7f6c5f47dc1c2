"""Every shell command in README.md and docs/*.md is run here or accounted for, so an
example cannot rot (issue 15, item 8). ``test_examples.py`` checks that YAML loads and
that each ``chargeops`` line parses; this module goes further:

- every shell block passes ``bash -n`` (placeholders such as ``<new release>`` replaced);
- every ``chargeops`` line that is safe offline is *executed* in a sandbox that holds the
  replayed sample day and the imported sample fleet, with test values for its
  placeholders (``DATE``, ``FILE``, ``ID``…), every ``a|b`` alternative, and the docs' own
  configuration for a ``--config chargeops.yaml`` (the example that defines the target the
  command names, its ``${VARS}`` set to dummies); it must exit 0;
- a ``chargeops`` line that cannot run here, and every other program, is listed below in
  ``NOT_RUN`` / ``PROGRAMS`` with the reason, visibly; an unlisted one fails the test.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.docs.test_examples import ALL, ROOT, SHELL, Block, as_config, commands, env_for
from tests.support.cli import console

pytestmark = pytest.mark.functional  # runs the console script

# chargeops commands that need something this machine does not have: (words, reason)
NOT_RUN: dict[tuple[str, ...], str] = {
    ("registry", "refresh"): "calls the Zaptec API (tests/registry runs it against the simulator)",
    ("reconcile",): "calls the Zaptec or eosvolt charge-history API (tests/finance fakes them)",
    ("dlq",): "reads Azure Service Bus dead-letter queues (tests/azure covers it)",
    ("serve",): "a server that runs until stopped (tests/ocpi/test_hosts.py runs and stops it)",
}
TABLE = "needs Azure Table Storage (--state table; tests/stores runs it on Azurite)"

# Other programs in shell blocks: what each is, and why it is not run here.
PROGRAMS: dict[str, str] = {
    "./demo.sh": "run end to end by tests/operator/test_demo.py",
    "./test.sh": "runs the whole suite, this test included",
    "az": "Azure CLI against a real subscription",
    "infra/deploy.sh": "deploys to Azure (tests/infra checks the script and its templates)",
    "curl": "calls api.zaptec.com with real credentials",
    "git": "changes the checkout",
    "cp": "part of the rollback steps in a second checkout",
    "read": "interactive credential prompt",
    "export": "sets variables for the commands after it",
    "unset": "clears variables",
    "echo": "prints",
    "field()": "a shell function the same block defines",
    "bash scripts/tools/iac.sh": "installs checkov and pycep from PyPI (./test.sh runs it)",
    ".tools/checkov/bin/checkov": "installed by scripts/tools/iac.sh; tests/infra runs it",
    ".venv/bin/pytest": "a test run (part of ./test.sh)",
}
# Programs checked by running their --help (long benchmarks, a server): path, then args
HELP_CHECKED = (".venv/bin/python bench/", ".venv/bin/python -m simulators.")

# Test values for placeholders, by the option they follow (or alone)
AFTER = {"--from": "2026-04-26", "--to": "2026-04-27", "--output": "example-output",
         "--site": "site-a", "--config": "chargeops.yaml", "--out": "out", "--max": "5",
         "--run-limit": "1m", "--actor": "docs", "--at": "2026-04-27",
         "--state": "out/state.sqlite3"}  # fmt: skip
PLACEHOLDER = re.compile(r"[<>…]|\.\.\.|^[A-Z][A-Z0-9_]+$")
SAFE_STATE = ("out/state.sqlite3",)


def shell_text(block: Block) -> str:
    if block.lang == "console":
        return "\n".join(ln[2:] for ln in block.text.splitlines() if ln.startswith("$ "))
    return block.text


SHELL_BLOCKS = [b for b in ALL if b.lang in SHELL]
SYNOPSES = [b for b in ALL if b.lang == "" and b.text.startswith("chargeops ")]


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.where)
def test_every_shell_block_is_valid_bash(block: Block) -> None:
    text = re.sub(r"<[^<>\n]+>", "PLACEHOLDER", shell_text(block))
    done = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True, check=False)
    assert done.returncode == 0, f"{block.where}: {done.stderr}"


def synopsis_lines(block: Block) -> list[tuple[int, list[str]]]:
    """A usage synopsis (an untagged block of ``chargeops …`` lines, continued by
    indented lines): one command per unindented line."""
    found: list[tuple[int, list[str]]] = []
    for offset, raw in enumerate(block.text.splitlines(), start=block.line + 1):
        if raw.startswith("chargeops "):
            found.append((offset, shlex.split(raw)[1:]))
        elif raw.startswith(" ") and found:
            found[-1][1].extend(shlex.split(raw))
    return found


CHARGEOPS = [(b, o, argv) for b in SHELL_BLOCKS for o, argv in commands(b)]
CHARGEOPS += [(b, o, argv) for b in SYNOPSES for o, argv in synopsis_lines(b)]


def variants(argv: list[str]) -> list[list[str]]:
    """The runnable forms of a documented line: the required words with each ``a|b``
    alternative once, then that with each optional ``[...]`` group added in turn;
    placeholders get test values ([]: a required one has none, so it cannot run)."""
    required: list[str] = []
    groups: list[list[str]] = []
    depth = 0
    for w in argv:
        opening = w.count("[")
        if depth == 0 and opening:
            groups.append([])
        depth += opening
        if depth == 0:
            required.append(w)
        else:
            groups[-1].append(w.replace("[", "").replace("]", ""))
        depth -= w.count("]")
    choices = [w.split("|") if "|" in w and not w.startswith("-") else [w] for w in required]
    forms = []
    for k in range(max(len(c) for c in choices)):
        form = _filled([c[min(k, len(c) - 1)] for c in choices])
        if form is None:
            return []
        forms.append(form)
    for group in groups:
        words = _filled([forms[0][-1], *(w.split("|")[0] for w in group if w)])
        if words is not None and "…" not in group and len(group) <= 2:
            forms.append([*forms[0], *words[1:]])
    return forms


def _filled(words: list[str]) -> list[str] | None:
    out: list[str] = []
    for word in words:
        value: str | None = word
        if PLACEHOLDER.search(word) or word in ("F", "S"):
            value = AFTER.get(out[-1]) if out else None
        if value is None:
            return None
        out.append(value)
    return out


def why_not_run(argv: list[str]) -> str | None:
    if "table" in argv and "--state" in argv:
        return TABLE
    for words, reason in NOT_RUN.items():
        if tuple(argv[: len(words)]) == words:
            return reason
    return None


def doc_config(target: str | None) -> tuple[str, dict[str, str]]:
    """The docs' own configuration that defines ``target`` (else the first full one),
    with dummy values for its variables."""
    for block in (b for b in ALL if b.lang in ("yaml", "yml") and not b.marks):
        text = as_config(block)
        if text is None:
            continue
        raw = yaml.safe_load(text)
        if target is None or target in (raw.get("targets") or {}):
            return text, env_for(text)
    pytest.fail(f"no configuration example in the docs defines target {target!r}")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory as a reader's would be after ./demo.sh: the sample day
    replayed into out/ and the sample fleet imported into its registry."""
    root = tmp_path_factory.mktemp("docs-sandbox")
    shutil.copytree(ROOT / "samples", root / "samples")
    done = console("replay", "samples/sample-day.jsonl", "--out", "out", "--quiet", cwd=root)
    assert done.returncode == 0, done.stderr
    done = console("registry", "import", "samples/fleet.json", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


RUNNABLE = [
    (b, o, argv) for b, o, argv in CHARGEOPS if why_not_run(argv) is None and variants(argv)
]


@pytest.mark.parametrize(
    ("block", "offset", "argv"),
    RUNNABLE,
    ids=[f"{b.doc.relative_to(ROOT)}:{o}" for b, o, _ in RUNNABLE],
)
def test_every_offline_chargeops_example_runs(
    sandbox: Path, block: Block, offset: int, argv: list[str]
) -> None:
    for form in variants(argv):
        env: dict[str, str] = {}
        if "--config" in form:
            target = form[1] if form[0] == "render" else None
            text, env = doc_config(target)
            (sandbox / form[form.index("--config") + 1]).write_text(text, "utf-8")
        if "--site" in form:  # a real site of the imported fleet
            form[form.index("--site") + 1] = _first_site(sandbox)
        done = console(*form, cwd=sandbox, env=env, timeout=300)
        where = f"{block.doc.relative_to(ROOT)}:{offset}"
        assert done.returncode == 0, f"{where}: chargeops {shlex.join(form)}\n{done.stderr}"


def _first_site(sandbox: Path) -> str:
    done = console("registry", "list", "--json", cwd=sandbox)
    assert done.returncode == 0, done.stderr
    chargers = json.loads(done.stdout)
    return str(next(c["site_id"] for c in chargers if c.get("site_id")))


def program_of(line: str) -> str | None:
    """The program a shell line runs, as ``PROGRAMS`` names it."""
    words = line.split()
    if not words or line.lstrip().startswith("#"):
        return None
    first = words[0]
    if first.startswith(("app=$(az", "app_id=$(az")):
        return "az"
    if first.startswith("token=$("):
        return "curl"
    if first.startswith("IFS="):
        return "read"
    if first == "bash" and len(words) > 1:
        return f"bash {words[1]}"
    if first.startswith("field()"):
        return "field()"
    return first


def shell_lines(block: Block) -> list[tuple[int, str]]:
    """Logical lines (continuations joined), without the ones inside a heredoc-ish
    continuation such as ``< <(`` ... ``)``."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = 0
    depth = 0
    for offset, raw in enumerate(shell_text(block).splitlines(), start=block.line + 1):
        if not pending:
            start = offset
        pending += raw.rstrip("\\") + " "
        depth += raw.count("$(") + raw.count("<(") - raw.count(")")
        if raw.rstrip().endswith("\\") or depth > 0:
            continue
        out.append((start, pending.strip()))
        pending, depth = "", 0
    return out


OTHER = [
    (b, o, line)
    for b in SHELL_BLOCKS
    for o, line in shell_lines(b)
    if program_of(line) not in (None, "chargeops")
]


@pytest.mark.parametrize(
    ("block", "offset", "line"), OTHER, ids=[f"{b.doc.relative_to(ROOT)}:{o}" for b, o, _ in OTHER]
)
def test_every_other_command_is_checked_or_has_a_reason(
    block: Block, offset: int, line: str
) -> None:
    where = f"{block.doc.relative_to(ROOT)}:{offset}"
    if line.startswith(HELP_CHECKED):
        words = shlex.split(line, comments=True)
        argv = [w for w in words if not w.startswith("[")]
        cut = 3 if argv[1] == "-m" else 2
        done = subprocess.run(
            [str(ROOT / argv[0]), *argv[1:cut], "--help"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{where}: {line}: --help failed\n{done.stderr}"
        return
    program = program_of(line)
    assert program in PROGRAMS, (
        f"{where}: `{line}` runs {program!r}: run it in a test, or add it to PROGRAMS "
        "with the reason it cannot run here"
    )


def test_what_is_not_run_is_few_and_said() -> None:
    """The lists above are the whole story: print them (pytest -s) and keep them short."""
    skipped = [(f"{b.doc.relative_to(ROOT)}:{o}", why_not_run(a)) for b, o, a in CHARGEOPS
               if why_not_run(a)]  # fmt: skip
    for where, reason in skipped:
        print(f"not run: {where}: {reason}")
    assert len(RUNNABLE) >= 4, "the extraction found too few runnable examples"
    assert len(skipped) <= len(RUNNABLE) + 3
