"""Headless Chromium for report tests: load a file, let its scripts run, return the DOM
(or a screenshot). Chromium comes from ``scripts/tools/chromium.sh`` (./test.sh runs it);
a missing browser fails the test with that hint, it never skips."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio")  # fmt: skip


def chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not found:
        pytest.fail(f"{CHROMIUM} not found: run scripts/tools/chromium.sh (./test.sh does)")
    return found


def run(page: Path, profile: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *mode, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM after the page's scripts ran (what a reader's browser shows)."""
    return run(page, profile, "--dump-dom").stdout


def screenshot(page: Path, profile: Path, out: Path, size: str = "1300,1600") -> bytes:
    run(page, profile, f"--window-size={size}", f"--screenshot={out}")
    return out.read_bytes()


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def find(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants (and self) with this tag and these attribute values
        (``class_`` matches one class among several)."""
        found = []
        want_class = attrs.pop("class_", None)
        stack = [self]
        while stack:
            node = stack.pop()
            ok = tag is None or node.tag == tag
            ok = ok and all(node.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
            if want_class is not None:
                ok = ok and want_class in node.attrs.get("class", "").split()
            if ok:
                found.append(node)
            stack.extend(reversed(node.children))
        return found

    @property
    def all_text(self) -> str:
        return self.text + "".join(c.all_text for c in self.children)


_VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, data))


def parse(html: str) -> Node:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def png_colours(data: bytes) -> dict[tuple[int, int, int], int]:
    """Pixel counts per RGB colour of an 8-bit, non-interlaced RGB/RGBA PNG (what Chromium
    writes); enough to tell that the charts were painted."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace, colour in (2, 6)) == (8, 0, True), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    prev, counts = bytearray(stride), dict[tuple[int, int, int], int]()
    for y in range(height):
        row = y * (stride + 1)
        mode, line = raw[row], bytearray(raw[row + 1 : row + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if mode == 1:
                line[i] = (line[i] + a) & 255
            elif mode == 2:
                line[i] = (line[i] + b) & 255
            elif mode == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif mode == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, channels):
            rgb = (line[x], line[x + 1], line[x + 2])
            counts[rgb] = counts.get(rgb, 0) + 1
        prev = line
    return counts
