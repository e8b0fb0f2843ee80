"""A command's output keeps whole lines from stdout and stderr, however their pipes' chunks interleave."""

from __future__ import annotations

from jobdeck.executors.local_process import LocalProcess


def test_chunks_of_two_pipes_are_not_spliced_mid_line() -> None:
    process = LocalProcess("r", "j", None)
    process.add_stderr(b"disk full")
    process.add_stdout(b"rows: 12")
    process.add_stdout(b"\n")
    process.add_stderr(b"\nlast words")
    assert process.output_tail().splitlines() == ["rows: 12", "disk full", "last words"]
    assert process.stderr_tail() == "disk full\nlast words"
