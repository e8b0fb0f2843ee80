"""A rule's state for one subject: ok → pending (for the hold time) → firing → resolved.

`advance` is the whole state machine: it takes the stored row (None is ok) and the latest check,
and returns the row to store (None: back to ok) and the transition to notify, if any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobdeck.alerts.rules import Check

OK, PENDING, FIRING, RESOLVED = "ok", "pending", "firing", "resolved"


@dataclass(frozen=True)
class Step:
    """What one evaluation does to one (rule, subject)."""

    row: dict[str, Any] | None  # the row to store; None: no row (ok)
    changed_to: str | None  # the new state when it changed
    notify: str | None  # "firing" or "resolved" when people should hear of it


def _row(check: Check, state: str, since: datetime, now: datetime, clear_count: int = 0) -> dict[str, Any]:
    return {
        "rule": check.rule,
        "subject": check.subject,
        "state": state,
        "since": since,
        "value": check.value,
        "threshold": check.threshold,
        "message": check.message,
        "clear_count": clear_count,
        "updated_at": now,
    }


def advance(
    stored: Mapping[str, Any] | None,
    check: Check,
    hold_s: float,
    now: datetime,
    *,
    successes_since: int | None,
    resolve_after: int,
    keep_ok: bool = False,
) -> Step:
    """The next state. `successes_since` counts successful runs since the state began (None for a
    subject without runs, such as a queue); a firing alert resolves once its condition is gone and
    that count reaches `resolve_after`."""
    state = stored["state"] if stored else OK
    if state in (OK, RESOLVED):
        if not check.holds:
            if state == RESOLVED and stored is not None:
                return Step(_row(check, RESOLVED, stored["since"], now), None, None)
            return Step(_row(check, OK, now, now) if keep_ok else None, None, None)
        if hold_s > 0:
            return Step(_row(check, PENDING, now, now), PENDING, None)
        return Step(_row(check, FIRING, now, now), FIRING, FIRING)
    assert stored is not None
    since = stored["since"]
    if state == PENDING:
        if not check.holds:
            return Step(_row(check, OK, now, now) if keep_ok else None, OK, None)
        if (now - since).total_seconds() >= hold_s:
            return Step(_row(check, FIRING, now, now), FIRING, FIRING)
        return Step(_row(check, PENDING, since, now), None, None)
    # Firing.
    if check.holds:
        return Step(_row(check, FIRING, since, now), None, None)
    clear_count = int(stored.get("clear_count") or 0) + 1
    if successes_since is None or successes_since >= resolve_after:
        return Step(_row(check, RESOLVED, now, now), RESOLVED, RESOLVED)
    return Step(_row(check, FIRING, since, now, clear_count), None, None)
