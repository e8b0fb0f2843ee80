"""Triggers: cron across DST by Debian cron's rules, intervals, once, and the limits every kind has."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from jobdeck.scheduler.triggers import Trigger, TriggerError, cron_fields


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def cron(expression: str, tz: str, **limits: object) -> Trigger:
    trigger = Trigger(kind="cron", cron=expression, timezone=tz, **limits)  # type: ignore[arg-type]
    trigger.check()
    return trigger


# --- DST in two zones ---------------------------------------------------------------------------


def test_berlin_spring_gap_daily_time_fires_once_right_after_the_gap() -> None:
    # 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; 02:30 does not exist that day.
    times = cron("30 2 * * *", "Europe/Berlin").upcoming(utc(2026, 3, 27, 12), 3)
    assert times == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]


def test_berlin_autumn_repeat_daily_time_fires_once() -> None:
    # 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice, and fires on the first.
    times = cron("30 2 * * *", "Europe/Berlin").upcoming(utc(2026, 10, 24, 12), 3)
    assert times == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30)]


def test_new_york_spring_gap_and_autumn_repeat() -> None:
    spring = cron("30 2 * * *", "America/New_York").upcoming(utc(2026, 3, 7, 12), 2)
    assert spring == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]  # 03:00 EDT right after the gap
    autumn = cron("30 1 * * *", "America/New_York").upcoming(utc(2026, 10, 31, 12), 2)
    assert autumn == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]  # 01:30 EDT once, then EST


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
    ],
)
def test_hourly_keeps_its_real_cadence_across_dst(tz: str, day: date, hours: int) -> None:
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    times = cron("@hourly", tz).upcoming(start - timedelta(seconds=1), 30)
    in_day = [t for t in times if start <= t < end]
    assert len(in_day) == hours
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(in_day))


# --- limits ---------------------------------------------------------------------------------------


def test_end_at_stops_the_times() -> None:
    trigger = cron("0 * * * *", "UTC", end_at=utc(2026, 1, 1, 3))
    assert trigger.upcoming(utc(2026, 1, 1), 10) == [utc(2026, 1, 1, h) for h in (1, 2, 3)]


def test_max_executions_counts_what_has_fired() -> None:
    trigger = Trigger(kind="interval", every_s=60, anchor=utc(2026, 1, 1), max_executions=3)
    assert trigger.upcoming(utc(2026, 1, 1), 10) == [utc(2026, 1, 1, 0, m) for m in (1, 2, 3)]
    assert trigger.next_after(utc(2026, 1, 1), executions=3) is None
    assert trigger.upcoming(utc(2026, 1, 1), 10, executions=2) == [utc(2026, 1, 1, 0, 1)]


def test_skip_dates_are_local_dates() -> None:
    # 23:30 in New York on 2026-07-03 is 03:30 UTC on the 4th: the skipped date is the local one.
    trigger = cron("30 23 * * *", "America/New_York", skip_dates=frozenset({date(2026, 7, 3)}))
    times = trigger.upcoming(utc(2026, 7, 2, 12), 2)
    assert times == [utc(2026, 7, 3, 3, 30), utc(2026, 7, 5, 3, 30)]


def test_interval_skips_whole_dates_quickly() -> None:
    skipped = frozenset(date(2026, 1, d) for d in range(2, 30))
    trigger = Trigger(kind="interval", every_s=1, anchor=utc(2026, 1, 1), skip_dates=skipped)
    assert trigger.next_after(utc(2026, 1, 1, 23, 59, 59)) == utc(2026, 1, 30)


def test_start_at_is_the_first_time_of_an_interval() -> None:
    trigger = Trigger(kind="interval", every_s=90, start_at=utc(2026, 1, 1, 12))
    assert trigger.first(utc(2026, 1, 1)) == utc(2026, 1, 1, 12)
    assert trigger.upcoming(utc(2026, 1, 1, 12), 2) == [utc(2026, 1, 1, 12, 1, 30), utc(2026, 1, 1, 12, 3)]
    # Created after its start: the next time on its grid.
    assert trigger.first(utc(2026, 1, 1, 12, 2)) == utc(2026, 1, 1, 12, 3)


def test_cron_with_a_start_at_fires_from_then() -> None:
    trigger = cron("*/15 * * * *", "UTC", start_at=utc(2026, 1, 1, 10, 30))
    assert trigger.first(utc(2026, 1, 1)) == utc(2026, 1, 1, 10, 30)
    assert trigger.first(utc(2026, 1, 1, 11, 1)) == utc(2026, 1, 1, 11, 15)


def test_once_fires_once() -> None:
    trigger = Trigger(kind="once", at=utc(2026, 5, 1, 8))
    assert trigger.first(utc(2026, 6, 1)) == utc(2026, 5, 1, 8)  # overdue: the misfire policy judges
    assert trigger.next_after(utc(2026, 4, 1)) == utc(2026, 5, 1, 8)
    assert trigger.next_after(utc(2026, 5, 1, 8)) is None
    assert trigger.next_after(utc(2026, 4, 1), executions=1) is None


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        (Trigger(kind="cron", cron="61 * * * *"), "cron"),
        (Trigger(kind="cron", cron="* * * *"), "cron"),
        (Trigger(kind="cron", cron="0 0 * * * *"), "cron"),
        (Trigger(kind="cron", cron="@sometimes"), "cron"),
        (Trigger(kind="cron", cron="0 * * * *", timezone="Mars/Olympus"), "timezone"),
        (Trigger(kind="interval", every_s=0), "every_s"),
        (Trigger(kind="interval", every_s=-5), "every_s"),
        (Trigger(kind="once"), "at"),
        (Trigger(kind="weekly"), "kind"),
        (Trigger(kind="once", at=datetime(2026, 1, 1)), "at"),
        (Trigger(kind="interval", every_s=5, start_at=utc(2026, 2, 1), end_at=utc(2026, 1, 1)), "end_at"),
        (Trigger(kind="interval", every_s=5, max_executions=0), "max_executions"),
    ],
)
def test_bad_triggers_name_their_field(trigger: Trigger, field: str) -> None:
    with pytest.raises(TriggerError) as raised:
        trigger.check()
    assert raised.value.field == field


def test_at_names_expand() -> None:
    assert cron_fields("@daily") == "0 0 * * *"
    assert cron_fields("@weekly") == "0 0 * * 0"
    assert cron_fields(" */5  * * * * ") == "*/5 * * * *"


# --- next times agree with cronsim's ------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
]


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    single = st.integers(low, high).map(str)
    listed = st.lists(st.integers(low, high), min_size=1, max_size=3, unique=True).map(
        lambda xs: ",".join(map(str, sorted(xs)))
    )
    step = st.integers(2, max(2, (high - low) // 2)).map(lambda n: f"*/{n}")
    ranged = st.tuples(st.integers(low, high), st.integers(low, high)).map(lambda ab: f"{min(ab)}-{max(ab)}")
    return st.one_of(st.just("*"), single, listed, step, ranged)


EXPRESSIONS = st.tuples(
    _field(0, 59),
    _field(0, 23),
    st.sampled_from(["*", "1", "15", "1-7", "*/10"]),
    st.just("*"),
    st.sampled_from(["*", "1-5", "0", "6"]),
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    expression=EXPRESSIONS,
    tz=st.sampled_from(ZONES),
    after=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_next_times_agree_with_cronsim(expression: str, tz: str, after: datetime) -> None:
    expected = [t.astimezone(UTC) for t in islice(CronSim(expression, after.astimezone(ZoneInfo(tz))), 6)]
    assert cron(expression, tz).upcoming(after, 6) == expected
