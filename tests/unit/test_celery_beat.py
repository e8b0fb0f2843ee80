"""A beat schedule's entries as expectations: crontab → 5-field cron, intervals → "every Ns", solar and
custom schedules → nothing; the app's timezone; a task in several entries gets the most frequent."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from celery import Celery
from celery.schedules import crontab, schedule, solar

from jobdeck.integrations.celery.beat import declarations, schedule_text

SOLAR = solar.__new__(solar)  # solar(...) needs the `ephem` package; its type is what counts
SOLAR.event, SOLAR.lat, SOLAR.lon = "sunrise", 52.5, 13.4


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (crontab(), "* * * * *"),
        (crontab(minute=0, hour=2), "0 2 * * *"),
        (crontab(minute="*/15", hour="9-17", day_of_week="mon-fri"), "*/15 9-17 * * mon-fri"),
        (crontab(minute=30, hour=4, day_of_month="1,15", month_of_year="*/3"), "30 4 1,15 */3 *"),
        (crontab(minute=[0, 30], hour=6), "0,30 6 * * *"),
        (schedule(timedelta(minutes=5)), "every 300s"),
        (schedule(90), "every 90s"),
        (timedelta(hours=6), "every 21600s"),
        (30.0, "every 30s"),
        (12, "every 12s"),
        (SOLAR, None),
        ("every day", None),
        (0, None),
    ],
)
def test_schedule_text(given: object, expected: str | None) -> None:
    assert schedule_text(given) == expected


def test_declarations_take_the_apps_timezone_and_the_most_frequent_entry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Celery("beat_unit", broker="memory://", set_as_current=False)
    app.conf.timezone = "Europe/Berlin"
    app.conf.beat_schedule = {
        "nightly": {"task": "tasks.report", "schedule": crontab(minute=0, hour=2)},
        "report often": {"task": "tasks.report", "schedule": crontab(minute=0)},
        "sync": {"task": "tasks.sync", "schedule": timedelta(minutes=10), "args": (1,)},
        "dawn": {"task": "tasks.dawn", "schedule": SOLAR},
    }
    with caplog.at_level(logging.INFO, logger="jobdeck.integrations.celery.beat"):
        found = declarations(app)
    assert found == [
        {"job": "tasks.report", "schedule": "0 * * * *", "timezone": "Europe/Berlin"},
        {"job": "tasks.sync", "schedule": "every 600s", "timezone": "Europe/Berlin"},
    ]
    assert "'dawn' (tasks.dawn) declares no expectation" in caplog.text


def test_no_timezone_is_utc_and_no_schedule_is_nothing() -> None:
    app = Celery("beat_unit_utc", broker="memory://", set_as_current=False)
    assert declarations(app) == []
    app.conf.beat_schedule = {"tick": {"task": "tasks.tick", "schedule": 60}}
    assert declarations(app) == [{"job": "tasks.tick", "schedule": "every 60s", "timezone": "UTC"}]
