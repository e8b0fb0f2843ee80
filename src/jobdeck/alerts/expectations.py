"""Expectations declared from code: `@track("nightly", schedule="0 2 * * *", timezone="Europe/Berlin",
grace="10m", max_runtime="1h")`, the same fields on an event, or a Celery beat schedule; for a job that
declares none, its own jobdeck schedules (`from_schedules`).

The first declaration creates a job's expectation and later ones replace it; the evaluator reads it
for BackgroundJobMissed, the job's interval (BackgroundJobNotRunning, BackgroundJobTooFrequent) and
its longest run (BackgroundJobOverrunning).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from jobdeck.alerts import intervals

# The event fields that declare an expectation (they describe the job, not the run).
FIELDS = ("schedule", "timezone", "grace", "max_runtime")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"\s*@?every\s+(.+)", re.IGNORECASE)
# cron's nicknames, as the expressions they stand for (@reboot has none).
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class BadExpectation(ValueError):
    """A declared field that makes no sense; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def seconds_of(value: Any, field: str) -> float:
    """A duration: seconds as a number, or "90s", "10m", "1h", "2d", "1h30m"."""
    if isinstance(value, bool):
        raise BadExpectation(field, f"'{field}' must be seconds or a duration such as 10m, not {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", text)
        if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhd])|\s", "", text):
            raise BadExpectation(field, f"'{field}' must be seconds or a duration such as 10m, not {value!r}")
        seconds = sum(float(n) * _UNITS[unit] for n, unit in parts)
    if not 0 <= seconds <= 366 * 86400:
        raise BadExpectation(field, f"'{field}' must be between 0 s and a year")
    return seconds


def declaration(
    fields: Mapping[str, Any], job: str, source: str, now: datetime | None = None
) -> dict[str, Any]:
    """The expectation row these fields declare for `job`; BadExpectation names a bad field.

    `schedule` is a cron expression (or a nickname such as @daily) or "every <duration>" (an interval)."""
    row: dict[str, Any] = {
        "job": job,
        "schedule": None,
        "timezone": None,
        "interval_s": None,
        "grace_s": 0.0,
        "max_runtime_s": None,
        "source": source,
        "updated_at": now or datetime.now(UTC),
    }
    timezone = fields.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ("Europe")
            raise BadExpectation("timezone", f"unknown timezone {timezone!r}") from None
        row["timezone"] = str(timezone)
    schedule = fields.get("schedule")
    if schedule is not None:
        every = _EVERY.fullmatch(str(schedule))
        if every:
            row["interval_s"] = seconds_of(every[1], "schedule")
            if row["interval_s"] <= 0:
                raise BadExpectation("schedule", "an interval must be longer than 0 s")
        else:
            schedule = NICKNAMES.get(str(schedule).strip().lower(), schedule)
            try:
                CronSim(str(schedule), datetime.now(UTC))
            except CronSimError as exc:
                raise BadExpectation("schedule", f"'schedule' is not a cron expression: {exc}") from None
            row["schedule"] = str(schedule)
    if fields.get("grace") is not None:
        row["grace_s"] = seconds_of(fields["grace"], "grace")
    if fields.get("max_runtime") is not None:
        row["max_runtime_s"] = seconds_of(fields["max_runtime"], "max_runtime")
    return row


def from_schedules(schedules: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """The expectation each job's own jobdeck schedules imply (source "schedule"): the cron schedule or
    interval of its active schedule that fires most often. One that is paused, fires once, follows
    another job or has ended implies nothing. Declarations from code or events take precedence over
    these (the evaluator lays them over)."""
    found: dict[str, tuple[float, dict[str, Any]]] = {}
    for schedule in schedules:
        definition = schedule.get("definition") or {}
        end_at = definition.get("end_at")
        if schedule.get("paused") or (end_at and datetime.fromisoformat(end_at) <= now):
            continue
        row: dict[str, Any] = {
            "job": schedule["job"],
            "schedule": None,
            "timezone": None,
            "interval_s": None,
            "grace_s": 0.0,
            "max_runtime_s": None,
            "source": "schedule",
            "updated_at": schedule.get("updated_at"),
        }
        if definition.get("kind") == "interval" and definition.get("every_s"):
            row["interval_s"] = float(definition["every_s"])
        elif definition.get("kind") == "cron" and definition.get("cron"):
            row["schedule"], row["timezone"] = definition["cron"], definition.get("timezone") or "UTC"
        else:
            continue
        try:
            interval = intervals.declared_interval(row, now)
        except (CronSimError, ValueError, StopIteration):
            continue
        if interval and (row["job"] not in found or interval < found[row["job"]][0]):
            found[row["job"]] = (interval, row)
    return {job: row for job, (_, row) in found.items()}
