"""A Celery app with a beat schedule, for `jobdeck celery-beat tests.celery_beat_app:app`."""

from __future__ import annotations

from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

app = Celery("jobdeck_beat_test", broker="memory://", set_as_current=False)
app.conf.timezone = "America/New_York"
app.conf.beat_schedule = {
    "weekday mornings": {"task": "tasks.morning", "schedule": crontab(minute=30, hour=7, day_of_week="1-5")},
    "sync": {"task": "tasks.sync", "schedule": timedelta(minutes=15)},
}
