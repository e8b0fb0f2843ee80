"""Downloads: the same runs as the lists, in CSV, JSON and JSON Lines, streamed from the store."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from fastapi.testclient import TestClient

from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store import export as store_export
from jobdeck.store.search import RunFilter
from tests.run_data import NOW, record_history


def test_runs_download_in_every_format_with_the_list_filters(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    response = client.get("/api/v1/export/runs", params={"status": "failed", "job": "clip_sync"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="jobdeck-runs-' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["run_id"] for r in rows] == [f"run-{i:05d}" for i in reversed(range(0, 150, 15))]
    assert rows[0]["error_message"] == "order 1135 not found"
    assert rows[0]["args"] == "[135]"

    as_json = client.get("/api/v1/export/runs", params={"q": "order 1000", "format": "json"}).json()
    assert [r["run_id"] for r in as_json] == ["run-00000"]
    assert as_json[0]["args"] == [0]
    assert as_json[0]["started_at"].startswith(str(NOW.year))

    lines = client.get("/api/v1/export/runs", params={"format": "jsonl"}).text.splitlines()
    assert len(lines) == 153
    assert json.loads(lines[0])["run_id"] == "live-1"
    assert client.get("/api/v1/export/runs", params={"q": "zzzzz", "format": "json"}).json() == []


def test_export_refuses_bad_parameters(client: TestClient) -> None:
    for params in ({"format": "xml"}, {"q": "ab"}, {"status": "done"}, {"hours": "-1"}):
        response = client.get("/api/v1/export/runs", params=params)
        assert response.status_code == 422, params
    assert "at least 3" in client.get("/api/v1/export/runs", params={"q": "ab"}).json()["detail"]


def test_failures_and_jobs_download(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    groups = client.get("/api/v1/export/failures", params={"hours": 6, "format": "json"}).json()
    assert sorted(g["job"] for g in groups) == ["clip_sync", "hot_score_refresh", "webhook_retry"]
    assert all(g["count"] == 10 and "KeyError" in g["sample_traceback"] for g in groups)
    failures_csv = list(csv.DictReader(io.StringIO(client.get("/api/v1/export/failures?hours=6").text)))
    assert failures_csv[0]["signature"] == "order <n> not found"

    jobs = list(csv.DictReader(io.StringIO(client.get("/api/v1/export/jobs?hours=6").text)))
    assert {j["job"]: j["runs"] for j in jobs} == {
        "clip_sync": "51",
        "hot_score_refresh": "50",
        "webhook_retry": "52",
    }
    api = client.get("/api/v1/jobs?hours=6").json()["jobs"]
    exported = client.get("/api/v1/export/jobs?hours=6&format=json").json()
    assert json.loads(json.dumps(api)) == exported


def test_streaming_reads_in_batches_and_stops_early(store: Store, recorder: Recorder) -> None:
    record_history(recorder)
    stream = store_export.stream_runs(store, RunFilter(since=NOW - timedelta(hours=1)), columns=("run_id",))
    first = next(stream)
    assert first == {"run_id": "live-1"}
    stream.close()  # ends the read transaction and the server-side cursor without reading the rest
