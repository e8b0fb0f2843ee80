"""A SQLite server copies the WAL back into the database in the background, not in a commit."""

from __future__ import annotations

import struct
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.web.app import create_app


def wal_frames(store: Store) -> tuple[int, int]:
    """(frames in the WAL, frames of it copied into the database), read from the WAL index (the -shm
    file: mxFrame at byte 16 of its header, nBackfill at byte 96) so that looking copies nothing."""
    shm = Path(f"{make_url(store.url).database}-shm").read_bytes()
    (log,) = struct.unpack_from("=I", shm, 16)
    (copied,) = struct.unpack_from("=I", shm, 96)
    return log, copied


def test_the_server_checkpoints_what_batches_wrote(sqlite_store: Store) -> None:
    now = datetime.now(UTC).isoformat()
    events = [{"run_id": f"r{i}", "job": "sync", "event": "started", "at": now} for i in range(2000)]
    with TestClient(create_app(Settings(database_url=sqlite_store.url), sqlite_store)) as client:
        assert any(t.name == "jobdeck-wal checkpoint" for t in threading.enumerate())
        assert client.post("/api/v1/events", json=events).status_code == 202
        log, copied = wal_frames(sqlite_store)
        assert log > copied  # well under the automatic checkpoint's 8,000 pages
        deadline = time.monotonic() + 5
        while copied < log and time.monotonic() < deadline:
            time.sleep(0.2)
            log, copied = wal_frames(sqlite_store)
    assert copied == log > 0
