"""Every way into the store masks secret-looking args: the SDK writing straight into a store, an
import of whole runs and of events, and the recorder any source uses — not only the HTTP ingest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from jobdeck.cli import app
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.sdk import configure, shutdown, track
from jobdeck.store import Store
from jobdeck.store import runs as run_rows

NOW = datetime.now(UTC)


def stored(store: Store, run_id: str) -> dict[str, object]:
    with store.read() as conn:
        run = run_rows.get_run(conn, run_id)
    assert run is not None, run_id
    return dict(run)


def test_the_recorder_masks_what_any_source_records(store: Store) -> None:
    Recorder(store).record(
        [make_event("r1", "started", NOW, {"job": "j", "kwargs": {"password": "p"}, "args": ["--token=t"]})]
    )
    run = stored(store, "r1")
    assert run["kwargs"] == {"password": "***"}
    assert run["args"] == ["--token=***"]
    Recorder(store, mask_keys=["nothing"]).record(
        [make_event("r2", "started", NOW, {"job": "j", "kwargs": {"password": "p"}})]
    )
    assert stored(store, "r2")["kwargs"] == {"password": "p"}  # the configured keys only


def test_the_sdk_straight_into_a_store(store: Store, tmp_path: Path) -> None:
    @track("deploy")
    def deploy(*args: str, **kwargs: str) -> None:
        pass

    configure(database_url=store.url, spool_dir=tmp_path, heartbeat_interval_s=0)
    try:
        deploy("--password", "hunter2", api_key="k")
    finally:
        shutdown(timeout=5)
    with store.read() as conn:
        runs, _ = run_rows.list_runs(conn, job="deploy", limit=5)
    assert len(runs) == 1
    run = stored(store, runs[0]["run_id"])
    assert run["args"] == ["--password", "***"]
    assert run["kwargs"] == {"api_key": "***"}


def test_an_import_of_runs_and_events(store: Store, tmp_path: Path) -> None:
    lines = [
        {"run_id": "i1", "job": "j", "status": "completed", "started_at": "2026-11-01T10:00:00+00:00",
         "duration_s": 1, "kwargs": {"client_secret": "s"}},
        {"run_id": "i2", "event": "started", "job": "j", "at": "2026-11-01T10:00:00Z",
         "args": [{"session": "c"}]},
    ]  # fmt: skip
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = CliRunner().invoke(app, ["import", str(path), "--db", store.url])
    assert result.exit_code == 0, result.output
    assert stored(store, "i1")["kwargs"] == {"client_secret": "***"}
    assert stored(store, "i2")["args"] == [{"session": "***"}]
