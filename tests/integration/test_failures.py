"""Failed runs grouped by fingerprint, on both backends."""

from __future__ import annotations

from datetime import timedelta

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store.failures import SPARK_BUCKETS, failure_groups
from tests.run_data import NOW, record_history


def test_failures_group_by_job_type_and_normalised_message(store: Store, recorder: Recorder) -> None:
    record_history(recorder)
    # The same failure in another job, and another error type with the same message.
    recorder.record(
        [
            make_event(
                "other-job",
                "failed",
                NOW - timedelta(minutes=1),
                {"job": "report", "error_type": "KeyError", "error_message": "order 7 not found"},
            ),
            make_event(
                "other-type",
                "failed",
                NOW - timedelta(minutes=1),
                {"job": "clip_sync", "error_type": "LookupError", "error_message": "order 7 not found"},
            ),
        ]
    )
    with store.read() as conn:
        report = failure_groups(conn, NOW - timedelta(hours=6), NOW)
    assert not report.truncated
    assert report.failures == 32
    assert report.kinds == 5
    # Biggest first; equal counts by the latest sighting (run 145 is hot_score_refresh's).
    top = report.groups[:3]
    assert [(g.job, g.error_type, g.count) for g in top] == [
        ("hot_score_refresh", "KeyError", 10),
        ("webhook_retry", "KeyError", 10),
        ("clip_sync", "KeyError", 10),
    ]
    clip = top[2]
    assert clip.signature == "order <n> not found"
    assert clip.jobs == ["clip_sync", "hot_score_refresh", "report", "webhook_retry"]
    assert clip.sample_run_id == "run-00135"
    assert clip.sample_message == "order 1135 not found"
    assert clip.sample_traceback is not None
    assert "KeyError: 1135" in clip.sample_traceback
    assert clip.first_seen is not None
    assert clip.last_seen is not None
    assert clip.first_seen < clip.last_seen
    assert sum(clip.sparkline) == 10
    assert len(clip.sparkline) == SPARK_BUCKETS
    lookup = next(g for g in report.groups if g.error_type == "LookupError")
    assert lookup.count == 1
    assert lookup.jobs == ["clip_sync"]
    assert len({g.fingerprint for g in report.groups}) == len(report.groups) == 5


def test_failures_filter_by_job_and_say_when_capped(store: Store, recorder: Recorder) -> None:
    record_history(recorder)
    with store.read() as conn:
        only = failure_groups(conn, NOW - timedelta(hours=6), NOW, job="webhook_retry")
        capped = failure_groups(conn, NOW - timedelta(hours=6), NOW, limit=2)
        empty = failure_groups(conn, NOW - timedelta(days=9), NOW - timedelta(days=8))
    assert [g.job for g in only.groups] == ["webhook_retry"]
    # The two biggest of the five kinds, counted whole; the report still knows all of them.
    assert capped.truncated
    assert [g.count for g in capped.groups] == [10, 10]
    assert (capped.kinds, capped.failures) == (3, 30)
    assert empty.groups == []
    assert not empty.truncated
    assert empty.failures == 0
