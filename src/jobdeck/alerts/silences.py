"""Whether a silence holds an alert now: a rule, a job or everything, for a period or a recurring window."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from jobdeck.alerts.intervals import cron_times


def active(silence: Mapping[str, Any], now: datetime) -> bool:
    """True while the silence is in force: within [starts_at, ends_at), and for a recurring one,
    within `duration_s` of its cron expression's latest time."""
    if now < silence["starts_at"] or (silence["ends_at"] is not None and now >= silence["ends_at"]):
        return False
    if silence.get("cron"):
        last, _ = cron_times(silence["cron"], silence.get("timezone"), now)
        return now < last + timedelta(seconds=silence["duration_s"] or 0)
    return True


def matches(silence: Mapping[str, Any], rule: str, subject: str) -> bool:
    return silence["rule"] in (None, rule) and silence["job"] in (None, subject)


def silenced(silences: Iterable[Mapping[str, Any]], rule: str, subject: str, now: datetime) -> bool:
    return any(matches(s, rule, subject) and active(s, now) for s in silences)
