"""How often a job is expected to run: declared (a schedule or an interval) or learned from its starts."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cronsim import CronSim

MIN_GAPS = 5
# Learned only when the starts are regular: this share of gaps within ±25 % of the median gap.
REGULAR_SHARE = 0.8
MIN_GRACE_S = 60.0


def learned_interval(starts: Sequence[datetime]) -> float | None:
    """The median gap between starts when the job runs on a regular beat, else None."""
    ordered = sorted(starts)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    gaps = [gap for gap in gaps if gap > 0]
    if len(gaps) < MIN_GAPS:
        return None
    median = statistics.median(gaps)
    regular = sum(1 for gap in gaps if 0.75 * median <= gap <= 1.25 * median)
    return median if regular >= REGULAR_SHARE * len(gaps) else None


def cron_times(schedule: str, timezone: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The schedule's last time at or before `now` and the one before it (aware, UTC)."""
    local = now.astimezone(ZoneInfo(timezone or "UTC"))
    times = CronSim(schedule, local + timedelta(seconds=1), reverse=True)
    last = next(times)
    return last.astimezone(now.tzinfo), next(times).astimezone(now.tzinfo)


def declared_interval(expectation: Mapping[str, Any] | None, now: datetime) -> float | None:
    """The interval an expectation declares: its own, or the gap between its schedule's times."""
    if not expectation:
        return None
    if expectation.get("interval_s"):
        return float(expectation["interval_s"])
    if expectation.get("schedule"):
        last, before = cron_times(expectation["schedule"], expectation.get("timezone"), now)
        return (last - before).total_seconds()
    return None


def grace_for(interval: float, expectation: Mapping[str, Any] | None) -> float:
    """The declared grace, else a tenth of the interval (at least a minute)."""
    if expectation and expectation.get("grace_s"):
        return float(expectation["grace_s"])
    return max(MIN_GRACE_S, interval / 10)


def due_time(expectation: Mapping[str, Any], last_start: datetime | None, now: datetime) -> datetime | None:
    """When the latest expected run was due: the schedule's last time, or the last start plus the
    interval; None when nothing is declared or nothing has started yet (interval only)."""
    if expectation.get("schedule"):
        return cron_times(expectation["schedule"], expectation.get("timezone"), now)[0]
    if expectation.get("interval_s") and last_start is not None:
        return last_start + timedelta(seconds=float(expectation["interval_s"]))
    return None
