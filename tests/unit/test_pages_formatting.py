"""How the pages write durations, times, window lengths, names, sparklines and changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobdeck.web.pages import formatting
from jobdeck.web.pages.dashboard import delta

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


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3600, "1 hour"), (6 * 3600, "6 hours"), (86400, "24 hours"), (7 * 86400, "7 days"), (60, "1 minute")],
)
def test_span_names_a_window(seconds: float, text: str) -> None:
    assert formatting.span(seconds) == text
    assert formatting.span(5400.5) == "1 h 30 m"  # not a round length: a duration


def test_breakable_names_wrap_between_words_and_stay_escaped() -> None:
    assert formatting.breakable("reports.generate_invoice") == "reports.<wbr>generate_<wbr>invoice"
    assert formatting.breakable("celery@worker-3") == "celery@<wbr>worker-3"
    assert formatting.breakable("<b>_x") == "&lt;b&gt;_<wbr>x"
    assert formatting.breakable("trailing.") == "trailing."
    assert formatting.breakable(None) == "—"


def test_a_change_too_small_to_show_is_no_change() -> None:
    # 98.02% after 98.04%: "▼ 0.0 pts" in red would be noise.
    tiny = delta(98.02, 98.04, unit="pts", higher_is_good=True)
    assert tiny is not None
    assert (tiny.text, tiny.tone) == ("= no change", "flat")
    assert tiny.title == "previous period: 98.0%"  # the rate was a percentage, its change is in points
    slower = delta(1.0004, 1.0, unit="s", higher_is_good=False)
    assert slower is not None
    assert slower.text == "= no change"


def test_changes_name_their_direction_and_whether_they_are_good_news() -> None:
    worse = delta(90.0, 95.0, unit="pts", higher_is_good=True)
    assert worse is not None
    assert (worse.text, worse.tone) == ("▼ 5.0 pts", "bad")
    more = delta(5, 4, unit="count", higher_is_good=None)
    assert more is not None
    assert (more.text, more.tone) == ("▲ 1 (+25%)", "flat")
    fewer = delta(3, 50, unit="count", higher_is_good=None)
    assert fewer is not None
    assert fewer.text == "▼ 47 (-94%)"
    slower = delta(90.0, 30.0, unit="s", higher_is_good=False)
    assert slower is not None
    assert (slower.text, slower.tone) == ("▲ 1 m 0 s", "bad")
    assert delta(None, 3.0, unit="s", higher_is_good=False) is None


def test_a_count_from_next_to_nothing_is_new_not_a_huge_percentage() -> None:
    grown = delta(128_663, 2, unit="count", higher_is_good=None)
    assert grown is not None
    assert grown.text == "▲ 128,661 (new)"
    assert "too few for a percentage" in grown.title
    from_zero = delta(5, 0, unit="count", higher_is_good=None)
    assert from_zero is not None
    assert from_zero.text == "▲ 5 (new)"
    nine_fold = delta(90, 10, unit="count", higher_is_good=None)
    assert nine_fold is not None
    assert nine_fold.text == "▲ 80 (+800%)"
    slight = delta(367, 368, unit="count", higher_is_good=None)
    assert slight is not None
    assert slight.text == "▼ 1 (-0.3%)"
