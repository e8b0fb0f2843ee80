"""`jobdeck import` loads events and whole runs from JSON lines and CSV, all or nothing per batch."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from jobdeck.cli import app
from jobdeck.store import Store, verify
from jobdeck.store import runs as run_rows
from jobdeck.store.schema import runs

runner = CliRunner()


def count_runs(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())


def test_jsonl_events_and_runs(store: Store, tmp_path: Path) -> None:
    lines = [
        {"run_id": "e1", "event": "started", "job": "sync", "at": "2026-11-01T10:00:00Z"},
        {"run_id": "e1", "event": "succeeded", "at": "2026-11-01T10:00:05Z", "items_succeeded": 4},
        {
            "run_id": "r1",
            "job": "report",
            "status": "completed",
            "created_at": "2026-11-01T09:59:58+00:00",
            "started_at": "2026-11-01T10:00:00+00:00",
            "duration_s": 2.5,
            "queue": "low",
        },
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = runner.invoke(app, ["import", str(path), "--db", store.url, "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    with store.read() as conn:
        e1, r1 = run_rows.get_run(conn, "e1"), run_rows.get_run(conn, "r1")
        assert verify.differences(conn) == []
    assert e1 is not None
    assert (e1["status"], e1["duration_s"], e1["items_succeeded"]) == ("succeeded", 5.0, 4)
    assert r1 is not None
    assert (r1["status"], r1["duration_s"], r1["queue"]) == ("succeeded", 2.5, "low")
    # Importing again is harmless.
    assert runner.invoke(app, ["import", str(path), "--db", store.url]).exit_code == 0
    assert count_runs(store) == 2


def test_csv_runs_and_a_bad_row_names_its_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        "run_id,job,status,started_at,finished_at,error_type,labels\n"
        'a,sync,failed,2026-11-01T10:00:00Z,2026-11-01T10:01:00Z,IOError,"{""team"": ""x""}"\n'
        "b,sync,running,2026-11-01T10:02:00Z,,,\n"
        "c,sync,exploded,2026-11-01T10:03:00Z,,,\n"
    )
    result = runner.invoke(app, ["import", str(path), "--db", store.url])
    assert result.exit_code == 1
    assert "line 4" in result.output
    assert "exploded" in result.output
    assert count_runs(store) == 0, "nothing of the failing batch is stored"
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    assert runner.invoke(app, ["import", str(path), "--db", store.url]).exit_code == 0
    with store.read() as conn:
        a = run_rows.get_run(conn, "a")
        b = run_rows.get_run(conn, "b")
    assert a is not None
    assert (a["status"], a["duration_s"], a["labels"]) == ("failed", 60.0, {"team": "x"})
    assert b is not None
    assert b["status"] == "running"


def test_an_event_of_an_unknown_run_without_a_job_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "orphan.jsonl"
    path.write_text(json.dumps({"run_id": "x", "event": "started", "at": "2026-11-01T10:00:00Z"}) + "\n")
    result = runner.invoke(app, ["import", str(path), "--db", store.url])
    assert result.exit_code == 1
    assert "line 1" in result.output
    naive = tmp_path / "naive.jsonl"
    naive.write_text(json.dumps({"run_id": "x", "event": "started", "job": "j", "at": "2026-11-01T10:00:00"}))
    result = runner.invoke(app, ["import", str(naive), "--db", store.url])
    assert result.exit_code == 1
    assert "line 1" in result.output
    assert "at" in result.output


def test_nul_characters_are_stored_as_replacement_characters(store: Store, tmp_path: Path) -> None:
    event = {"run_id": "n1", "event": "failed", "job": "sync", "at": "2026-11-01T10:00:00Z"}
    jsonl = tmp_path / "nul.jsonl"
    jsonl.write_text(json.dumps(event | {"error_message": "bad\x00byte"}) + "\n")
    csv_file = tmp_path / "nul.csv"
    csv_file.write_text(
        "run_id,job,status,finished_at,error_message\nn2,sync,failed,2026-11-01T10:00:00Z,x\x00y\n"
    )
    for path in (jsonl, csv_file):
        result = runner.invoke(app, ["import", str(path), "--db", store.url])
        assert result.exit_code == 0, result.output
    with store.read() as conn:
        assert run_rows.get_run(conn, "n1")["error_message"] == "bad\ufffdbyte"  # type: ignore[index]
        assert run_rows.get_run(conn, "n2")["error_message"] == "x\ufffdy"  # type: ignore[index]


def test_parallel_workers_store_what_one_process_does(store: Store, tmp_path: Path) -> None:
    """Four workers on small batches: runs whose events are spread over batches (the job in the
    first) come out as one process would record them, whichever worker's batch lands first."""
    lines = []
    for i in range(300):
        rid, minute = f"p{i}", f"2026-11-01T10:{i % 60:02d}:00Z"
        lines.append({"run_id": rid, "event": "enqueued", "job": f"job{i % 3}", "at": minute, "queue": "q"})
    for i in range(300):
        rid = f"p{i}"
        lines.append({"run_id": rid, "event": "started", "at": f"2026-11-01T10:{i % 60:02d}:05Z"})
        lines.append({"run_id": rid, "event": "failed" if i % 7 == 0 else "succeeded",
                      "at": f"2026-11-01T10:{i % 60:02d}:09Z", "items_succeeded": i})  # fmt: skip
    path = tmp_path / "spread.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = runner.invoke(
        app, ["import", str(path), "--db", store.url, "--batch-size", "90", "--workers", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "imported 900 events" in result.output
    with store.read() as conn:
        assert verify.differences(conn) == []
        failed = run_rows.list_runs(conn, status=["failed"], limit=1000)[0]
        done = run_rows.list_runs(conn, status=["succeeded"], limit=1000)[0]
    assert len(failed) == 43
    assert len(done) == 257
    assert {r["duration_s"] for r in failed + done} == {4.0}


def test_a_bad_record_stops_parallel_workers_with_its_line(store: Store, tmp_path: Path) -> None:
    lines = [json.dumps({"run_id": f"b{i}", "event": "started", "job": "j", "at": "2026-11-01T10:00:00Z"})
             for i in range(200)]  # fmt: skip
    lines[150] = json.dumps({"run_id": "bad", "event": "started", "job": "j", "at": "yesterday"})
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app, ["import", str(path), "--db", store.url, "--batch-size", "60", "--workers", "2"]
    )
    assert result.exit_code == 1
    assert "line 151" in result.output
    assert "'at'" in result.output
    with store.read() as conn:
        assert run_rows.get_run(conn, "b140") is None  # its batch (lines 141-160) was not stored
