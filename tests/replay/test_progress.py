"""What an operator watching a long replay sees: how far, how fast, how long so far and
how long to go (the summary comes at the end; this is the line before it)."""

from __future__ import annotations

import re

from shared.commands.replay import progress_text


def test_a_sized_capture_shows_share_bar_rate_elapsed_and_eta() -> None:
    text = progress_text(120_000, 400, 1_000, 5.0, bar=True)
    assert text.startswith("replay: 120,000 lines")
    assert "40%" in text
    assert "[########............]" in text
    assert "24,000/s" in text
    assert "0:00:05 elapsed, ETA 0:00:08" in text  # 5 s for 40 %: 7.5 s to go


def test_without_a_known_size_there_is_no_share_and_no_guess() -> None:
    text = progress_text(5_000, 123_456, 0, 2.0, bar=True)  # stdin or .gz
    assert "%" not in text
    assert "ETA" not in text
    assert "[" not in text
    assert text == "replay: 5,000 lines  2,500/s  0:00:02 elapsed"


def test_long_runs_count_hours_and_the_end_has_no_eta() -> None:
    assert re.search(r"1:01:01 elapsed, ETA 1:01:01$", progress_text(1, 50, 100, 3661.0))
    assert progress_text(9, 100, 100, 1.0).endswith("0:00:01 elapsed")
