"""A job's jobdeck schedules imply its expectation: the one that fires most often, active ones only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobdeck.alerts.expectations import from_schedules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def schedule(job: str, paused: bool = False, **definition: Any) -> dict[str, Any]:
    return {"job": job, "paused": paused, "definition": definition, "updated_at": NOW}


def test_the_most_frequent_active_schedule_of_each_job() -> None:
    found = from_schedules(
        [
            schedule("a", kind="cron", cron="0 */6 * * *", timezone="Europe/Berlin"),
            schedule("a", kind="interval", every_s=7200.0),
            schedule("a", kind="interval", every_s=60.0, paused=True),
            schedule("a", kind="interval", every_s=30.0, end_at="2026-05-01T00:00:00+00:00"),
            schedule("b", kind="cron", cron="*/15 * * * *"),
            schedule("c", kind="once", at="2026-06-02T00:00:00+00:00"),
            schedule("d", kind=None, after="a"),
        ],
        NOW,
    )
    assert set(found) == {"a", "b"}
    assert (found["a"]["interval_s"], found["a"]["schedule"]) == (7200.0, None)
    assert (found["b"]["schedule"], found["b"]["timezone"]) == ("*/15 * * * *", "UTC")
    assert {row["source"] for row in found.values()} == {"schedule"}


def test_a_schedule_ending_later_still_counts() -> None:
    later = "2027-01-01T00:00:00+00:00"
    found = from_schedules([schedule("a", kind="interval", every_s=10.0, end_at=later)], NOW)
    assert found["a"]["interval_s"] == 10.0
