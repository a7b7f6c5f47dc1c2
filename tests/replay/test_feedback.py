"""Feedback on long work (shared.commands.progress), as an operator sees it on stderr:
a live bar with elapsed time, rate and ETA on a terminal, a quiet line every few seconds
in a log, nothing with --quiet, and colours only when NO_COLOR is unset."""

from __future__ import annotations

import argparse
import io
import re

import pytest

from shared.cli import build_parser
from shared.commands.progress import Feedback, status_line

# SGR sequences that set a colour (NO_COLOR forbids those; bold is allowed).
ANSI_COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9]+)*m")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_off_a_terminal_one_line_per_period_and_a_closing_line() -> None:
    out, clock = io.StringIO(), Clock()
    with Feedback("export", total=1_000, unit="records", stream=out, tty=False, every=10,
                  now=clock) as fb:  # fmt: skip
        for n in range(1, 1001):
            clock.t = 100 + n / 20  # 50 s in all: five periods of 10 s
            fb.update(done=n, count=n)
    lines = out.getvalue().splitlines()
    assert len(lines) == 6, lines  # 10 s, 20 s, 30 s, 40 s, 50 s, then "done"
    assert lines[0] == "export: 200 records   20%  20/s  0:00:10 elapsed, ETA 0:00:40"
    assert lines[-1].endswith("100%  20/s  0:00:50 elapsed  done")
    assert not ANSI_COLOUR.search(out.getvalue())


def test_a_short_job_off_a_terminal_stays_silent() -> None:
    out = io.StringIO()
    with Feedback("sample", total=10, stream=out, tty=False) as fb:
        fb.advance(10)
    assert out.getvalue() == ""


def test_quiet_prints_nothing_even_on_a_terminal() -> None:
    out, clock = io.StringIO(), Clock()
    with Feedback("replay", total=10, stream=out, tty=True, enabled=False, now=clock) as fb:
        clock.t += 60
        fb.update(done=5, count=5)
    assert out.getvalue() == ""


@pytest.mark.parametrize("no_color", ["", "1"])
def test_on_a_terminal_a_bar_with_rate_elapsed_and_eta(monkeypatch, no_color: str) -> None:
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = io.StringIO()
    with Feedback("replay", total=200, unit="lines", stream=out, tty=True) as fb:
        fb.update(done=100, count=5_000)
    text = out.getvalue()
    plain = ANSI_COLOUR.sub("", text)
    assert "replay" in plain
    assert "100%" in plain  # closed: the bar shows it finished
    assert "5,000 lines" in plain
    assert re.search(r"\d+:\d\d:\d\d", plain)  # elapsed and remaining clocks
    assert "ETA" in plain
    assert "━" in plain  # rich's bar
    assert bool(ANSI_COLOUR.search(text)) is (no_color == "")


def test_the_plain_line_without_a_total_makes_no_guess() -> None:
    assert (
        status_line("sample", 5_000, 0, None, 2.0)
        == "sample: 5,000 lines  2,500/s  0:00:02 elapsed"
    )
    assert status_line("x", 1, 50, 100, 3661.0, unit="rows").endswith(
        "1:01:01 elapsed, ETA 1:01:01"
    )


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, (*path, name))


def test_every_command_takes_json() -> None:
    """One flag, one shape: every command that prints something answers ``--json`` (the
    older ``--format json``/``jsonl`` stays where it was, as the same output)."""
    lacking = [
        " ".join(path)
        for path, parser in _leaves(build_parser())
        if "--json" not in {o for a in parser._actions for o in a.option_strings}
    ]
    assert lacking == []
