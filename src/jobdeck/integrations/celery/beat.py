"""A Celery app's beat schedule as each beat task's expectation, without configuration.

`instrument(app)` (and `jobdeck celery-beat MODULE:APP`) reads `app.conf.beat_schedule` and declares,
for each task it names, what the lateness alerts expect of it (alerts/expectations.py):

- `crontab(...)` → the 5-field cron expression of its original fields (minute hour day_of_month
  month_of_year day_of_week), in the app's `timezone` (UTC when it has none);
- `schedule(timedelta)`, a `timedelta` or a number of seconds → "every Ns";
- `solar(...)` → nothing (sunrise times are no cron): skipped with a log line, as is anything else.

A task in several entries gets the one that fires most often. The declaration goes through the SDK's
transport (HTTP `POST /api/v1/expectations`, or straight into the store) in a background thread that
retries while jobdeck cannot be reached, so a worker or beat starting before jobdeck loses nothing
and is never held up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jobdeck.alerts import expectations, intervals

log = logging.getLogger(__name__)

SOURCE = "celery-beat"
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
RETRY_MAX_S = 60.0
ATTEMPTS = 30  # about 25 minutes of retries while jobdeck is away


def cron_field(value: Any) -> str:
    """One of crontab's original fields as cron writes it: "*/15", 5, "mon-fri", [0, 30] → "0,30"."""
    if isinstance(value, str | int):
        return str(value).strip() or "*"
    if isinstance(value, Iterable):
        return ",".join(str(part) for part in sorted(value, key=str))
    return str(value)


def schedule_text(schedule: Any) -> str | None:
    """A beat entry's schedule as an expectation's `schedule` (cron or "every Ns"); None when it has
    none that jobdeck reads (solar, a custom schedule class)."""
    from celery.schedules import crontab, solar
    from celery.schedules import schedule as every

    if isinstance(schedule, solar):
        return None
    if isinstance(schedule, crontab):
        return " ".join(cron_field(getattr(schedule, f"_orig_{name}")) for name in CRON_FIELDS)
    if isinstance(schedule, every):
        seconds = schedule.run_every.total_seconds()
    elif isinstance(schedule, timedelta):
        seconds = schedule.total_seconds()
    elif isinstance(schedule, int | float) and not isinstance(schedule, bool):
        seconds = float(schedule)
    else:
        return None
    return f"every {seconds:g}s" if seconds > 0 else None


def declarations(app: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """The expectation of each task of the app's beat schedule (`{"job", "schedule", "timezone"}`),
    by task name; entries that declare nothing are logged."""
    now = now or datetime.now(UTC)
    beat_schedule: Mapping[str, Any] = app.conf.beat_schedule or {}
    timezone = str(app.conf.timezone or "UTC")
    found: dict[str, tuple[float, dict[str, Any]]] = {}
    for name, entry in beat_schedule.items():
        task = entry.get("task") if isinstance(entry, Mapping) else None
        schedule = entry.get("schedule") if isinstance(entry, Mapping) else None
        text = schedule_text(schedule) if task else None
        if text is None:
            log.info(
                "jobdeck: beat entry %r (%s) declares no expectation: its schedule %r is not a crontab or "
                "an interval",
                name,
                task,
                schedule,
            )
            continue
        declared = {"job": str(task), "schedule": text, "timezone": timezone}
        try:
            row = expectations.declaration(declared, str(task), SOURCE, now)
            interval = intervals.declared_interval(row, now) or float("inf")
        except (expectations.BadExpectation, ValueError, StopIteration) as exc:
            log.warning("jobdeck: beat entry %r (%s): %s is not usable: %s", name, task, text, exc)
            continue
        if task not in found or interval < found[str(task)][0]:
            found[str(task)] = (interval, declared)
    return [found[task][1] for task in sorted(found)]


def send(declared: list[dict[str, Any]]) -> None:
    """Declare them through the SDK's transport now; raises the transport's Unavailable/Rejected."""
    from jobdeck.sdk.client import get_client

    transport = get_client().sender.transport
    declare = getattr(transport, "declare", None)
    if declare is None:
        raise TypeError(f"the SDK's transport {type(transport).__name__} cannot declare expectations")
    declare(declared, SOURCE)


class Declarer:
    """Declares an app's beat expectations in the background, again only when they changed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def soon(self) -> threading.Thread | None:
        """Read the beat schedule now and declare it in a background thread (None: nothing to do)."""
        try:
            declared = declarations(self.app)
        except Exception:
            log.exception(
                "jobdeck: could not read the beat schedule of %s", getattr(self.app, "main", self.app)
            )
            return None
        with self._lock:
            if not declared or declared == self.sent:
                return None
            self.sent = declared
        thread = threading.Thread(
            target=self._deliver, args=(declared,), name="jobdeck-celery-beat", daemon=True
        )
        self.thread = thread
        thread.start()
        return thread

    def _deliver(self, declared: list[dict[str, Any]]) -> None:
        from jobdeck.sdk.transport import Rejected

        pause = 1.0
        for attempt in range(1, ATTEMPTS + 1):
            try:
                send(declared)
                log.info(
                    "jobdeck: declared the beat expectations of %s", ", ".join(d["job"] for d in declared)
                )
                return
            except (Rejected, TypeError) as exc:
                log.error("jobdeck: the beat expectations were refused: %s", exc)
                return
            except Exception as exc:
                if attempt == ATTEMPTS:
                    log.error("jobdeck: gave up declaring the beat expectations: %s", exc)
                    with self._lock:
                        self.sent = None
                    return
                log.warning(
                    "jobdeck: cannot declare the beat expectations yet (%s); again in %g s", exc, pause
                )
                threading.Event().wait(pause)
                pause = min(pause * 2, RETRY_MAX_S)
