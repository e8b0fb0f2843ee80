"""Which times a due schedule fires now: its misfire policy applied to the times it missed.

Pure: the loop hands it the schedule's trigger and state and the time now. A time later than the
grace period is missed (the scheduler was down or behind): `skip` fires none of them, `once` fires
one run for all of them, `catch_up` fires each (a bounded number per pass, the rest on the next).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jobdeck.scheduler.triggers import Trigger

CATCH_UP_PER_PASS = 500


@dataclass
class Plan:
    """The times to fire, the missed ones recorded as skipped (with why), and the state after."""

    fire: list[datetime] = field(default_factory=list)
    skipped: list[tuple[datetime, str]] = field(default_factory=list)
    next_run_at: datetime | None = None
    executions: int = 0


def plan(
    trigger: Trigger,
    next_run_at: datetime | None,
    executions: int,
    now: datetime,
    misfire: str,
    grace_s: float,
    per_pass: int = CATCH_UP_PER_PASS,
) -> Plan:
    """What to fire at `now` for a schedule due at `next_run_at` that has fired `executions` times."""
    result = Plan(executions=executions)
    at = next_run_at
    cutoff = now - timedelta(seconds=grace_s)
    if at is not None and at < cutoff and misfire != "catch_up":
        # Jump over every missed time at once (a day of a per-second schedule is 86,400 of them).
        first_missed = at
        if misfire == "once":
            result.fire.append(first_missed)
            result.executions += 1
        else:
            result.skipped.append((first_missed, "missed while no scheduler ran (misfire policy: skip)"))
        at = trigger.next_after(cutoff - timedelta(microseconds=1), result.executions)
        if at is not None and at <= first_missed:
            at = trigger.next_after(first_missed, result.executions)
    while at is not None and at <= now and len(result.fire) < per_pass:
        result.fire.append(at)
        result.executions += 1
        at = trigger.next_after(at, result.executions)
    result.next_run_at = at
    return result
