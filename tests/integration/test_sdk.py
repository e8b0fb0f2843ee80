"""The SDK end to end, through both transports (HTTP to a server, direct into the store), on both backends."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

import jobdeck
from jobdeck.config import Settings
from jobdeck.sdk import SdkSettings, configure, shutdown, track
from jobdeck.sdk.spool import Spool
from jobdeck.store import Store
from jobdeck.store.schema import runs
from jobdeck.web.app import create_app
from tests.services import PG_ADMIN_URL, port_open, unavailable


@contextmanager
def serving(store: Store) -> Iterator[str]:
    """A real jobdeck server for `store` on a free port, in a thread; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(Settings(database_url=store.url), store), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(params=["direct", "http"])
def tracked_into(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[Store]:
    """The SDK configured to deliver into `store` by each transport."""
    options: dict[str, Any] = {"spool_dir": tmp_path / "spool", "heartbeat_interval_s": 0}
    if request.param == "direct":
        configure(database_url=store.url, **options)
        yield store
        shutdown(timeout=5)
        return
    with serving(store) as url:
        configure(url=url, **options)
        yield store
        shutdown(timeout=5)


def run_row(store: Store, run_id: str) -> dict[str, Any]:
    with store.read() as conn:
        return dict(conn.execute(select(runs).where(runs.c.run_id == run_id)).one()._mapping)


def test_a_sync_run_is_stored_complete(tracked_into: Store) -> None:
    @track("clip_sync", queue="default", labels={"team": "media"}, capture_args=True, capture_result=True)
    def clip_sync(batch: int) -> dict[str, int]:
        run = track.current()
        assert run is not None
        run.progress(succeeded=40, failed=1)
        run.progress(skipped=2)
        return {"synced": 40}

    clip_sync(7)
    assert jobdeck.flush(10)
    with tracked_into.read() as conn:
        (row,) = [dict(r._mapping) for r in conn.execute(select(runs))]
    assert (row["job"], row["status"], row["queue"], row["source"]) == (
        "clip_sync",
        "succeeded",
        "default",
        "sdk",
    )
    assert (row["items_succeeded"], row["items_failed"], row["items_skipped"]) == (40, 1, 2)
    assert row["result"] == {"synced": 40}
    assert row["args"] == [7]
    assert row["labels"] == {"team": "media"}
    assert row["cpu_s"] is not None
    assert row["duration_s"] is not None
    assert row["started_at"] <= row["finished_at"]
    assert row["host"]
    assert row["pid"]
    assert row["worker"]


def test_an_async_run_is_stored(tracked_into: Store) -> None:
    async def main() -> None:
        async with track.run("inventory_sync", run_id="async-1") as run:
            await asyncio.sleep(0.01)
            run.progress(succeeded=5)

    asyncio.run(main())
    assert jobdeck.flush(10)
    row = run_row(tracked_into, "async-1")
    assert (row["status"], row["items_succeeded"]) == ("succeeded", 5)
    assert row["duration_s"] >= 0.01


def test_a_failed_run_keeps_its_error_and_traceback(tracked_into: Store) -> None:
    @track("invoice_export")
    async def export() -> None:
        raise ConnectionResetError("upstream closed the connection")

    with pytest.raises(ConnectionResetError):
        asyncio.run(export())
    assert jobdeck.flush(10)
    with tracked_into.read() as conn:
        row = dict(conn.execute(select(runs)).one()._mapping)
    assert (row["status"], row["error_type"]) == ("failed", "ConnectionResetError")
    assert row["error_message"] == "upstream closed the connection"
    assert "in export" in row["traceback"]
    assert row["traceback"].rstrip().endswith("connection")


@contextmanager
def store_not_there_yet(backend: str, tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A store URL that cannot be opened yet, and a way to make it exist."""
    if backend == "sqlite":
        folder = tmp_path / "later"
        yield f"sqlite:///{folder / 'jobdeck.db'}", folder.mkdir
        return
    try:
        import psycopg
    except ImportError:
        unavailable("PostgreSQL", "psycopg is not installed")
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL", "nothing listens on 127.0.0.1:5432")
    name = f"jobdeck_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:

        def create() -> None:
            admin.execute(f'CREATE DATABASE "{name}"')

        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", create
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_store_that_cannot_be_opened_gets_its_runs_once_it_can(backend: str, tmp_path: Path) -> None:
    with store_not_there_yet(backend, tmp_path) as (url, create):
        configure(database_url=url, spool_dir=tmp_path / "spool", heartbeat_interval_s=0)
        try:
            with track.run("early", run_id="ok") as run:
                run.progress(succeeded=1)
            with pytest.raises(KeyError), track.run("early", run_id="bad"):
                raise KeyError("k")
            assert not jobdeck.flush(5)
            create()
            assert jobdeck.flush(10)  # migrates the new store, then replays the spool
        finally:
            shutdown(timeout=5)
        store = Store(url)
        try:
            assert (run_row(store, "ok")["status"], run_row(store, "bad")["status"]) == (
                "succeeded",
                "failed",
            )
        finally:
            store.close()


def test_text_no_store_can_keep_arrives_replaced(tracked_into: Store) -> None:
    odd = "bad\x00byte \ud800"
    with pytest.raises(ValueError, match="bad"), track.run("nul_job", run_id="nul-1", args={"k\x00": odd}):
        raise ValueError(odd)
    assert jobdeck.flush(10)
    row = run_row(tracked_into, "nul-1")
    assert row["status"] == "failed"
    assert row["error_message"] == "bad\ufffdbyte \ufffd"
    assert row["args"] == {"k\ufffd": "bad\ufffdbyte \ufffd"}


def test_a_spooled_event_the_server_fails_on_does_not_hold_back_later_runs(
    store: Store, tmp_path: Path
) -> None:
    """An older SDK spooled an event the server cannot store (a NUL, on PostgreSQL): the rest still arrive."""
    with serving(store) as url:
        spool_dir = tmp_path / "spool"
        spool = Spool(SdkSettings(url=url, spool_dir=spool_dir).spool_path, 10_000_000)
        at = "2026-01-01T00:00:00+00:00"
        spool.append(
            [
                {"run_id": "old-1", "event": "started", "job": "old", "at": at},
                {"run_id": "old-1", "event": "failed", "job": "old", "at": at, "error_message": "a\x00b"},
                {"run_id": "old-2", "event": "started", "job": "old", "at": at},
            ]
        )
        configure(url=url, spool_dir=spool_dir, heartbeat_interval_s=0)
        try:
            with track.run("new", run_id="new-1"):
                pass
            assert jobdeck.flush(10)
        finally:
            shutdown(timeout=5)
        assert run_row(store, "new-1")["status"] == "succeeded"
        assert run_row(store, "old-2")["status"] == "running"
        assert spool.files() == []
