"""How the run pages write durations, times and sparklines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobdeck.web.pages import formatting

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.85, "850 ms"),
        (4.24, "4.2 s"),
        (200, "3 m 20 s"),
        (7500, "2 h 5 m"),
        (273600, "3 d 4 h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert formatting.duration(seconds) == text


def test_times() -> None:
    assert formatting.when(NOW) == "2026-11-23 12:00:00 UTC"
    assert formatting.iso(NOW) == "2026-11-23T12:00:00Z"
    assert formatting.clock(NOW) == "12:00:00 UTC"
    assert formatting.ago(NOW - timedelta(seconds=200), NOW) == "3 m 20 s ago"
    assert formatting.ago(NOW + timedelta(minutes=2), NOW) == "in 2 m 0 s"
    assert formatting.seconds_since(NOW + timedelta(seconds=5), NOW) == 0.0


def test_sparkline_points_fill_the_box() -> None:
    points = [tuple(map(float, p.split(","))) for p in formatting.sparkline_points([0, 5, 10]).split()]
    assert points == [(0.0, 26.0), (60.0, 14.0), (120.0, 2.0)]
    assert formatting.sparkline_points([]) == ""
    assert formatting.sparkline_points([0, 0])  # all zero: a flat line, no division by zero
