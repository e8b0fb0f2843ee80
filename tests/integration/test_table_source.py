"""A foreign jobs table read as runs: the seed schema in SQLite and PostgreSQL, updates, new rows, a
row deleted under it, a mapping file, bad columns and status words, read-only access, and a
database that goes away and comes back."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from jobdeck.config import Settings
from jobdeck.integrations.table.mapping import BadMapping
from jobdeck.integrations.table.source import TableSource
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store.runs import get_run
from jobdeck.web.app import create_app
from tests.services import fresh_pg_database

T0 = datetime(2026, 12, 1, 10, 0, 0)
SEED_SQL = """
CREATE TABLE background_jobs (
    id INTEGER PRIMARY KEY,
    job_type VARCHAR(100) NOT NULL,
    status VARCHAR(20) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    error_message TEXT
)
"""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Foreign:
    """The application's database, written by the application (the test), read by jobdeck."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

    def run(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def add(
        self,
        row_id: int,
        job: str,
        status: str,
        created: float,
        started: float | None = None,
        completed: float | None = None,
        error: str | None = None,
        table: str = "background_jobs",
    ) -> None:
        self.run(
            f"INSERT INTO {table} "  # noqa: S608 (the test's own table name)
            "(id, job_type, status, created_at, started_at, completed_at, error_message) "
            "VALUES (:id, :job, :status, :created, :started, :completed, :error)",
            id=row_id,
            job=job,
            status=status,
            created=at(created),
            started=at(started) if started is not None else None,
            completed=at(completed) if completed is not None else None,
            error=error,
        )


@pytest.fixture(params=["sqlite", "postgres"])
def foreign(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Foreign]:
    if request.param == "sqlite":
        db = Foreign(f"sqlite:///{tmp_path / 'app.db'}")
        db.run(SEED_SQL)
        yield db
        db.engine.dispose()
        return
    with fresh_pg_database("jobdeck_source") as url:
        db = Foreign(url)
        db.run(SEED_SQL)
        yield db
        db.engine.dispose()


def run_of(store: Store, row_id: int, table: str = "background_jobs") -> dict[str, Any] | None:
    with store.read() as conn:
        return get_run(conn, f"table:{table}:{row_id}")


def seed(db: Foreign) -> None:
    db.add(1, "send_invoice", "completed", 0, 1, 3)
    db.add(2, "send_invoice", "failed", 5, 6, 7, "SMTP 550: mailbox unavailable")
    db.add(3, "sync_stock", "running", 10, 11)
    db.add(4, "sync_stock", "pending", 12)


def test_the_seed_schema_becomes_runs_and_an_update_shows_after_one_pass(
    foreign: Foreign, sqlite_store: Store
) -> None:
    seed(foreign)
    source = TableSource(f"{foreign.url}#background_jobs", Recorder(sqlite_store), every_s=5)
    assert source.check()
    first = source.run_once()
    assert first is not None
    assert (first.rows, first.runs_changed, first.open_rows) == (4, 4, 2)
    done = run_of(sqlite_store, 1)
    assert done is not None
    assert (done["job"], done["status"], done["source"]) == ("send_invoice", "succeeded", "table")
    assert done["duration_s"] == 120
    failed = run_of(sqlite_store, 2)
    assert failed is not None
    assert (failed["status"], failed["error_message"]) == ("failed", "SMTP 550: mailbox unavailable")
    assert run_of(sqlite_store, 3)["status"] == "running"  # type: ignore[index]
    assert run_of(sqlite_store, 4)["status"] == "pending"  # type: ignore[index]
    # The application moves a running job to failed and adds a new one; one pass shows both.
    foreign.run(
        "UPDATE background_jobs SET status = 'failed', completed_at = :t, error_message = 'timeout' "
        "WHERE id = 3",
        t=at(14),
    )
    foreign.add(5, "sync_stock", "running", 15, 15)
    second = source.run_once()
    assert second is not None
    assert second.runs_changed == 2
    changed = run_of(sqlite_store, 3)
    assert changed is not None
    assert (changed["status"], changed["error_message"], changed["duration_s"]) == ("failed", "timeout", 180)
    assert run_of(sqlite_store, 5)["status"] == "running"  # type: ignore[index]
    # Nothing new: the pass reads the open rows and the last window again and changes nothing.
    third = source.run_once()
    assert third is not None
    assert third.runs_changed == 0
    assert third.open_rows == 2
    # A pending row the application starts without touching a time: read again as an open row.
    foreign.run("UPDATE background_jobs SET status = 'running' WHERE id = 4")
    assert source.run_once().runs_changed == 1  # type: ignore[union-attr]
    assert run_of(sqlite_store, 4)["status"] == "running"  # type: ignore[index]
    source.reader.close()


def test_a_row_deleted_under_it_leaves_the_run_as_last_seen(
    foreign: Foreign, sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    seed(foreign)
    source = TableSource(f"{foreign.url}#background_jobs", Recorder(sqlite_store), every_s=5)
    source.run_once()
    foreign.run("DELETE FROM background_jobs WHERE id = 3")
    with caplog.at_level(logging.INFO, logger="jobdeck.integrations.table.source"):
        polled = source.run_once()
    assert polled is not None
    assert polled.gone == 1
    assert polled.open_rows == 1
    assert run_of(sqlite_store, 3)["status"] == "running"  # type: ignore[index]
    assert "row 3 was deleted; its run stays as it was last seen" in caplog.text
    assert source.run_once().gone == 0  # type: ignore[union-attr]  # said once, then forgotten
    source.reader.close()


def test_it_never_writes_to_the_foreign_database(foreign: Foreign, sqlite_store: Store) -> None:
    seed(foreign)
    source = TableSource(f"{foreign.url}#background_jobs", Recorder(sqlite_store), every_s=5)
    with source.reader.engine.connect() as conn, pytest.raises((OperationalError, DBAPIError)) as refused:
        conn.execute(text("DELETE FROM background_jobs"))
    assert "read-only" in str(refused.value) or "readonly" in str(refused.value)
    source.reader.close()


MAP = """
[columns]
id = "job_id"
job_type = "kind"
status = "state"
created_at = "inserted_at"
started_at = "began_at"
completed_at = "finished_at"
error_message = ""

[statuses]
queued = "pending"
in_progress = "running"
ok = "succeeded"
broken = "failed"
"""


def test_a_mapping_file_maps_other_columns_and_status_words(tmp_path: Path, sqlite_store: Store) -> None:
    db = Foreign(f"sqlite:///{tmp_path / 'other.db'}")
    db.run(
        "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, kind TEXT, state TEXT, inserted_at TEXT, "
        "began_at TEXT, finished_at TEXT)"
    )
    db.run(
        "INSERT INTO jobs VALUES ('a1', 'resize', 'ok', '2026-12-01T10:00:00Z', '2026-12-01T10:00:05Z', "
        "'2026-12-01T10:00:35Z')"
    )
    db.run(
        "INSERT INTO jobs VALUES ('a2', 'resize', 'in_progress', '2026-12-01T10:01:00Z', "
        "'2026-12-01T10:01:01Z', NULL)"
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAP)
    source = TableSource(f"{db.url}#jobs", Recorder(sqlite_store), every_s=5, map_file=mapping)
    assert source.check()
    source.run_once()
    assert run_of(sqlite_store, "a1", "jobs")["status"] == "succeeded"  # type: ignore[arg-type,index]
    assert run_of(sqlite_store, "a1", "jobs")["duration_s"] == 30  # type: ignore[arg-type,index]
    db.run("UPDATE jobs SET state = 'broken', finished_at = '2026-12-01T10:02:00Z' WHERE job_id = 'a2'")
    source.run_once()
    assert run_of(sqlite_store, "a2", "jobs")["status"] == "failed"  # type: ignore[arg-type,index]
    source.reader.close()
    db.engine.dispose()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("ALTER TABLE background_jobs RENAME COLUMN job_type TO kind", "no column 'job_type' for job_type"),
        (
            "INSERT INTO background_jobs VALUES "
            "(9, 'x', 'exploded', '2026-12-01 10:00:00', NULL, NULL, NULL)",
            "unknown status word 'exploded' in column 'status'",
        ),
        ("DROP TABLE background_jobs", "there is no such table"),
    ],
)
def test_unexpected_columns_and_status_words_are_named_at_start(
    tmp_path: Path, sqlite_store: Store, change: str, says: str
) -> None:
    db = Foreign(f"sqlite:///{tmp_path / 'app.db'}")
    db.run(SEED_SQL)
    db.run(change)
    source = TableSource(f"{db.url}#background_jobs", Recorder(sqlite_store), every_s=5)
    with pytest.raises(BadMapping, match=says):
        source.check()
    db.engine.dispose()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[columns]\nkind = 'x'\n", "'kind' is not one of id, job_type"),
        ("[statuses]\nok = 'great'\n", "ok = 'great': not a status jobdeck knows"),
        ("[columns]\nid = ''\n", "id cannot be left out"),
        ("[columns\n", "is not TOML"),
    ],
)
def test_a_bad_mapping_file_is_named(tmp_path: Path, sqlite_store: Store, content: str, says: str) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text(content)
    with pytest.raises(BadMapping, match=says):
        TableSource(f"sqlite:///{tmp_path / 'x.db'}#t", Recorder(sqlite_store), every_s=5, map_file=mapping)


def test_a_database_that_goes_away_is_said_once_and_read_again_when_back(
    tmp_path: Path, sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "app.db"
    db = Foreign(f"sqlite:///{path}")
    db.run(SEED_SQL)
    seed(db)
    db.engine.dispose()
    source = TableSource(f"{db.url}#background_jobs", Recorder(sqlite_store), every_s=5)
    source.run_once()
    path.rename(tmp_path / "away.db")
    source.reader.engine.dispose()  # connections opened before keep the old file open
    with caplog.at_level(logging.WARNING, logger="jobdeck.integrations.table.source"):
        assert source.run_once() is None
        assert source.run_once() is None
    assert caplog.text.count("unreachable since") == 1
    assert source.problem
    (tmp_path / "away.db").rename(path)
    db.run("UPDATE background_jobs SET status = 'completed', completed_at = :t WHERE id = 3", t=at(20))
    with caplog.at_level(logging.WARNING, logger="jobdeck.integrations.table.source"):
        polled = source.run_once()
    assert polled is not None
    assert "reachable again" in caplog.text
    assert run_of(sqlite_store, 3)["status"] == "succeeded"  # type: ignore[index]
    source.reader.close()
    db.engine.dispose()


def test_serve_polls_its_source_tables_in_the_background(tmp_path: Path, sqlite_store: Store) -> None:
    db = Foreign(f"sqlite:///{tmp_path / 'app.db'}")
    db.run(SEED_SQL)
    seed(db)
    settings = Settings(
        database_url=sqlite_store.url, source_tables=[f"{db.url}#background_jobs"], source_poll_s=0.2
    )
    with TestClient(create_app(settings, sqlite_store)) as client:
        assert "source table background_jobs" in client.app.state.services.names  # type: ignore[attr-defined]
        db.run("UPDATE background_jobs SET status = 'failed', completed_at = :t WHERE id = 3", t=at(30))
        deadline = time.monotonic() + 10
        while client.get("/api/v1/runs/table:background_jobs:3").json().get("status") != "failed":
            assert time.monotonic() < deadline, "the change did not show within 10 s"
            time.sleep(0.1)
    db.engine.dispose()
