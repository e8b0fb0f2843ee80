"""The OpenAPI document describes every JSON answer, and real answers fit their models, on both backends."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.web.api import models
from tests.integration.test_api_control import start, wait_for_status
from tests.integration.test_api_reads import NOW, known_runs

# Answers that are not JSON: the event stream, Prometheus' text format, and a deleted schedule's 204
# (no content).
NOT_JSON = {("get", "/api/v1/stream"), ("get", "/metrics"), ("delete", "/api/v1/schedules/{schedule_id}")}
# Pings answer "OK" as text, like Healthchecks.
NOT_JSON |= {(m, p) for m in ("get", "post") for p in ("/ping/{job}", "/ping/{job}/{action}")}
WINDOW = "hours=24"


def test_every_json_route_has_a_response_schema(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if (method, path) not in NOT_JSON
    ]
    assert len(operations) >= 19
    for method, path, operation in operations:
        ok = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
        assert ok, f"{method} {path} documents no success"
        for code, answer in ok.items():
            if code == "204":  # No Content: nothing to describe
                continue
            schema = answer["content"]["application/json"]["schema"]
            named = schema.get("$ref") or schema.get("items", {}).get("title")
            assert named, f"{method} {path} answers JSON of no documented shape: {schema}"


def test_the_event_request_body_is_one_event_or_a_list(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/events"]["post"]
    assert operation["requestBody"]["required"] is True
    single, batch = operation["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert single["title"] == "EventIn"
    assert batch["items"] == single
    assert set(single["required"]) == {"run_id", "event"}
    assert single["additionalProperties"] is False
    assert "enqueued" in single["properties"]["event"]["enum"]
    assert "$ref" not in str(single)  # inlined whole: nothing points into a missing $defs


def test_health_documents_both_unhealthy_answers(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/health"]["get"]
    unavailable = operation["responses"]["503"]["content"]["application/json"]["schema"]
    assert {ref["$ref"].rsplit("/", 1)[-1] for ref in unavailable["anyOf"]} == {"Health", "Unhealthy"}


def fits(model: type[BaseModel] | Any, body: bytes) -> None:
    """Validate an answer's bytes against a model (or a type), failing with pydantic's message."""
    adapter = TypeAdapter(model)
    adapter.validate_json(body)


def test_real_answers_fit_their_models(client: TestClient, recorder: Recorder) -> None:
    known_runs(recorder)
    recorder.record(
        [
            make_event(
                "whole",
                "failed",
                NOW - timedelta(minutes=5),
                {
                    "job": "clip_sync",
                    "args": [1, {"a": None}],
                    "kwargs": {"k": 1.5},
                    "result": "x",
                    "labels": {"team": "data"},
                    "cpu_s": 1.0,
                    "max_rss_mb": 20.0,
                    "pid": 12,
                    "host": "h",
                    "source": "sdk",
                    "traceback": "Traceback …",
                    "items_succeeded": 3,
                },
            ),
            make_event("retry-of-whole", "enqueued", NOW, {"job": "clip_sync", "parent_run_id": "whole"}),
        ]
    )
    answers: list[tuple[Any, str]] = [
        (models.RunPage, f"/api/v1/runs?{WINDOW}&limit=1000"),
        (models.Run, "/api/v1/runs/whole"),
        (models.Run, "/api/v1/runs/run-007"),
        (models.JobList, f"/api/v1/jobs?{WINDOW}"),
        (models.Totals, f"/api/v1/stats?{WINDOW}"),
        (models.Heatmap, f"/api/v1/heatmap?{WINDOW}"),
        (models.Heatmap, f"/api/v1/heatmap?{WINDOW}&job=clip_sync"),
        (models.Overlaps, f"/api/v1/overlaps?{WINDOW}"),
        (models.Timeline, f"/api/v1/timeline?{WINDOW}"),
        (models.Health, "/api/health"),
        (models.Changes, "/api/v1/changes"),
        (list[models.ExportedRun], f"/api/v1/export/runs?{WINDOW}&format=json"),
        (list[models.JobSummary], f"/api/v1/export/jobs?{WINDOW}&format=json"),
        (list[models.FailureGroupRow], f"/api/v1/export/failures?{WINDOW}&format=json"),
    ]
    answers += [
        (models.Timeseries, f"/api/v1/timeseries?{WINDOW}&metric={metric}")
        for metric in ("runs", "failures", "duration_p50", "duration_p95", "queue_wait_p95", "items")
    ]
    for model, url in answers:
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.text)
        fits(model, answer.content)
    for model, url in [
        (models.SeedJobs, "/api/jobs"),
        (models.SeedOverlaps, "/api/overlaps"),
        (models.SeedStats, "/api/stats"),
    ]:
        answer = client.post(url, json={"hours": 24})
        assert answer.status_code == 200, (url, answer.text)
        fits(model, answer.content)
    accepted = client.post("/api/v1/events", json=[{"run_id": "one-more", "event": "started", "job": "j"}])
    assert accepted.status_code == 202
    fits(models.Accepted, accepted.content)


def test_a_model_refuses_an_undocumented_field() -> None:
    with pytest.raises(ValueError, match="extra_forbidden"):
        fits(
            models.Totals,
            b'{"total":1,"succeeded":1,"failed":0,"cancelled":0,"lost":0,"running":0,'
            b'"pending":0,"success_rate":100.0,"avg_duration_s":null,"surprise":1}',
        )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")
def test_action_answers_fit_their_models(client: TestClient) -> None:
    failing = start(client, "import sys; sys.exit(3)")
    wait_for_status(client, failing, {"failed"})
    retried = client.post(f"/api/v1/runs/{failing}/retry")
    assert retried.status_code == 202, retried.text
    fits(models.Retried, retried.content)
    sleeping = start(client, "import time; time.sleep(60)")
    stopped = client.post(f"/api/v1/runs/{sleeping}/stop")
    assert stopped.status_code == 202, stopped.text
    fits(models.Stopped, stopped.content)
    wait_for_status(client, sleeping, {"cancelled"})
