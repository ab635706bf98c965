"""The command line's progress bar: drawn in place on a terminal, silent elsewhere."""

from __future__ import annotations

import io

from app.cli.progress_bar import ProgressBar, format_elapsed, render


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_line_has_percentage_steps_message_and_elapsed_time() -> None:
    line = render(0.25, "3/12", "Filling: level 1 of 3", 75.0, width=100)
    assert "25%" in line and "3/12" in line and "Filling: level 1 of 3" in line
    assert line.endswith("1:15")


def test_long_messages_are_cut_to_the_terminal_width() -> None:
    line = render(0.5, "1/2", "x" * 500, 3.0, width=60)
    assert len(line) <= 60 and "50%" in line and line.endswith("0:03")


def test_elapsed_time_format() -> None:
    assert [format_elapsed(s) for s in (0, 7, 754, 3723)] == ["0:00", "0:07", "12:34", "1:02:03"]


def test_redrawn_in_place_and_finished_with_a_newline() -> None:
    stream, clock = Terminal(), Clock()
    bar = ProgressBar(stream, width=80, clock=clock)
    bar.update(0.1, "1/10", "short")
    clock.now += 0.01
    bar.update(0.2, "2/10", "throttled away")
    clock.now += 1
    bar.update(1.0, "10/10", "a")
    bar.finish()
    text = stream.getvalue()
    assert "throttled away" not in text
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    first, second = text.strip("\n").split("\r")[1:]
    assert len(second) >= len(first)  # the longer first line is blanked out, not left behind
    assert "100%" in second and "10/10" in second


def test_silent_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update(0.5, "1/2", "hidden", force=True)
    bar.finish()
    assert not bar.enabled and stream.getvalue() == ""
