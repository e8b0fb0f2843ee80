"""GET /metrics: a known data set exposed with exact values, parsed by prometheus_client's parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from jobdeck.analytics import sketch
from jobdeck.config import Settings
from jobdeck.events import Event, make_event
from jobdeck.metrics import names
from jobdeck.metrics.collector import cumulative_buckets
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.app import create_app

NOW = datetime.now(UTC).replace(microsecond=0)
# (job, days ago, duration s, outcome, queue wait s, items ok/failed/skipped); none near a bucket edge.
RUNS: list[tuple[str, int, float, str, float, tuple[int, int, int]]] = [
    ("sync", 3, 0.5, "succeeded", 0.2, (10, 0, 1)),
    ("sync", 2, 3.0, "succeeded", 2.0, (5, 1, 0)),
    ("sync", 1, 45.0, "failed", 20.0, (0, 7, 0)),
    ("sync", 0, 400.0, "succeeded", 100.0, (3, 0, 2)),
    ("report", 2, 10.0, "failed", 0.3, (0, 0, 0)),
    ("report", 0, 700.0, "succeeded", 2000.0, (1, 1, 1)),
    ("report", 0, 100.0, "cancelled", 0.7, (0, 0, 0)),
    ("report", 1, 8000.0, "lost", 0.7, (0, 0, 0)),
]


def events() -> list[Event]:
    batch: list[Event] = []
    for i, (job, days, duration, outcome, wait, items) in enumerate(RUNS):
        start = NOW - timedelta(days=days, hours=3)
        rid = f"m{i}"
        batch.append(make_event(rid, "enqueued", start - timedelta(seconds=wait), {"job": job, "queue": "q"}))
        batch.append(make_event(rid, "started", start, {}))
        data: dict[str, Any] = dict(
            zip(("items_succeeded", "items_failed", "items_skipped"), items, strict=True)
        )
        batch.append(make_event(rid, outcome, start + timedelta(seconds=duration), data))
    batch.append(make_event("live", "started", NOW - timedelta(seconds=30), {"job": "sync"}))
    batch.append(
        make_event("waiting", "enqueued", NOW - timedelta(seconds=5), {"job": "report", "queue": "high"})
    )
    batch.append(
        make_event("waiting2", "enqueued", NOW - timedelta(seconds=5), {"job": "sync", "queue": "high"})
    )
    return batch


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_exposition_has_exact_values(client: TestClient, recorder: Recorder) -> None:
    recorder.record(events())
    samples = scrape(client)
    for job in ("sync", "report"):
        for status in ("success", "failed", "cancelled", "lost"):
            expected = sum(1 for r in RUNS if r[0] == job and names.EXECUTION_STATUSES[r[3]] == status)
            assert value(samples, "job_execution_total", job_name=job, status=status) == expected
    assert value(samples, "job_items_processed_total", job_name="sync", status="success") == 18
    assert value(samples, "job_items_processed_total", job_name="sync", status="failed") == 8
    assert value(samples, "job_items_processed_total", job_name="sync", status="skipped") == 3
    assert value(samples, "job_items_processed_total", job_name="report", status="failed") == 1

    # Durations count for succeeded and failed runs only.
    sync = [0.5, 3.0, 45.0, 400.0]
    assert value(samples, "job_execution_duration_seconds_count", job_name="sync") == 4
    assert value(samples, "job_execution_duration_seconds_sum", job_name="sync") == sum(sync)
    for edge in names.DURATION_BUCKETS:
        le = f"{edge:.1f}"
        expected = sum(1 for d in sync if d <= edge)
        assert value(samples, "job_execution_duration_seconds_bucket", job_name="sync", le=le) == expected
    assert value(samples, "job_execution_duration_seconds_bucket", job_name="report", le="+Inf") == 2
    assert value(samples, "job_execution_duration_seconds_bucket", job_name="report", le="600.0") == 1
    assert value(samples, "job_execution_duration_seconds_bucket", job_name="report", le="900.0") == 2

    waits = [r[4] for r in RUNS]
    assert value(samples, "job_queue_wait_seconds_count") == len(waits)
    assert abs(value(samples, "job_queue_wait_seconds_sum") - sum(waits)) < 1e-6
    for edge in names.WAIT_BUCKETS:
        expected = sum(1 for w in waits if w <= edge)
        assert (
            value(samples, "job_queue_wait_seconds_bucket", le=str(edge) if edge < 1 else f"{edge:.1f}")
            == expected
        )

    last_sync = NOW - timedelta(hours=3) + timedelta(seconds=400)
    assert value(samples, "job_last_success_timestamp_seconds", job_name="sync") == last_sync.timestamp()
    assert value(samples, "job_running", job_name="sync") == 1
    assert value(samples, "job_running", job_name="report") == 0
    assert value(samples, "job_queue_size", queue="high") == 2
    # Bounded cardinality: no run ids or hosts in any label.
    assert not any("run_id" in dict(labels) or "host" in dict(labels) for _, labels in samples)


def test_counters_follow_new_runs_in_past_days(client: TestClient, recorder: Recorder) -> None:
    recorder.record(events())
    before = value(scrape(client), "job_execution_total", job_name="sync", status="failed")
    # A failure recorded late into a day already merged: the cached days see the change.
    at = NOW - timedelta(days=2, hours=1)
    recorder.record(
        [make_event("late", "started", at, {"job": "sync"}), make_event("late", "failed", at, {})]
    )
    assert value(scrape(client), "job_execution_total", job_name="sync", status="failed") == before + 1


def test_empty_store_scrapes(client: TestClient) -> None:
    samples = scrape(client)
    assert value(samples, "job_queue_wait_seconds_count") == 0
    assert not any(name == "job_execution_total" for name, _ in samples)


def test_buckets_from_a_sketch_stay_within_one_bin_of_an_edge() -> None:
    # Values well clear of an edge are counted exactly; the error is at most one bin (3 %).
    values = [0.9, 1.1, 4.8, 5.2, 58.0, 62.0, 7000.0, 7400.0]
    bins: dict[int, int] = {}
    for v in values:
        sketch.add_into(bins, {sketch.bin_of(v): 1})
    counts = sketch.bucket_counts(bins, names.DURATION_BUCKETS)
    buckets = dict(cumulative_buckets(counts, names.DURATION_BUCKETS, len(values)))
    for edge in names.DURATION_BUCKETS:
        assert buckets[f"{edge:.1f}"] == sum(1 for v in values if v <= edge)
    assert buckets["+Inf"] == len(values)


def test_replicas_and_restarts_export_the_same_counters(store: Store, recorder: Recorder) -> None:
    recorder.record(events())
    texts = []
    for _ in range(2):  # two replicas of the store, or one process before and after a restart
        with TestClient(create_app(Settings(database_url=store.url), store)) as replica:
            texts.append(replica.get("/metrics").text)
    assert texts[0] == texts[1]
    assert 'job_execution_total{job_name="sync",status="success"} 3.0' in texts[0]
