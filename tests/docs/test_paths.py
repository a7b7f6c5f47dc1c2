"""The docs name files a newcomer will open: every path they name must exist, so a move
that forgets the docs fails here rather than in a reader's hands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
PATH = re.compile(r"`((?:shared|functions|tests|bench|infra|scripts|simulators)/[\w./<>-]+)`")


def named_paths(doc: Path) -> list[str]:
    return [m for m in PATH.findall(doc.read_text("utf-8")) if "<" not in m and "*" not in m]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_a_doc_names_exists(doc: Path) -> None:
    missing = [p for p in named_paths(doc) if not (ROOT / p.rstrip("/")).exists()]
    assert missing == [], f"{doc.name} names paths that do not exist: {missing}"


def test_the_design_page_names_every_folder_of_the_data_path() -> None:
    text = (ROOT / "docs" / "design.md").read_text("utf-8")
    folders = [p.name for p in (ROOT / "shared").iterdir() if (p / "__init__.py").exists()]
    unnamed = [f for f in folders if f"shared/{f}/" not in text and f not in ("data",)]
    assert unnamed == []
