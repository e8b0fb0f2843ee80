"""Finding runs: filters, keyset pages, and indexed text search, on both backends."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import Connection, delete, text

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store.schema import runs
from jobdeck.store.search import RunFilter, find_runs, job_names, runs_query
from tests.run_data import NOW, record_history


def _all_pages(store: Store, where: RunFilter, limit: int = 50) -> list[str]:
    found: list[str] = []
    cursor = None
    with store.read() as conn:
        while True:
            rows, cursor = find_runs(conn, where, limit=limit, cursor=cursor, columns=("run_id", "run_at"))
            found += [r["run_id"] for r in rows]
            assert [r["run_at"] for r in rows] == sorted((r["run_at"] for r in rows), reverse=True)
            if cursor is None:
                return found


def test_pages_cover_every_matching_run_once(store: Store, recorder: Recorder) -> None:
    record_history(recorder)
    everything = _all_pages(store, RunFilter())
    assert len(everything) == len(set(everything)) == 153
    failed_high = _all_pages(store, RunFilter(statuses=("failed",), queue="high"), limit=7)
    assert failed_high == [f"run-{i:05d}" for i in reversed(range(150)) if i % 5 == 0 and i % 2]
    clip = _all_pages(store, RunFilter(job="clip_sync", statuses=("running",)))
    assert clip == ["live-0"]
    with store.read() as conn:
        assert job_names(conn) == ["clip_sync", "hot_score_refresh", "webhook_retry"]


def test_search_finds_an_old_run_among_filters_and_pages(store: Store, recorder: Recorder) -> None:
    record_history(recorder)
    # The oldest run's error, by part of its message, in any case.
    assert _all_pages(store, RunFilter(text="ORDER 1000 NOT")) == ["run-00000"]
    # Its id, or the beginning of ids; and a fragment that many runs share, through several pages.
    assert _all_pages(store, RunFilter(text="run-00001")) == ["run-00001"]
    assert _all_pages(store, RunFilter(text="run-0012")) == [f"run-{i:05d}" for i in range(129, 119, -1)]
    assert _all_pages(store, RunFilter(text="un-0012")) == []  # ids match from their start
    assert len(_all_pages(store, RunFilter(text="not found"), limit=4)) == 30
    assert _all_pages(
        store, RunFilter(text="not found", job="clip_sync", since=NOW - timedelta(minutes=40))
    ) == [f"run-{i:05d}" for i in (135, 120)]
    # Args are searched as JSON text; error types too.
    assert "run-00123" in _all_pages(store, RunFilter(text="[123]"))
    assert len(_all_pages(store, RunFilter(text="keyerror"))) == 30


@pytest.mark.parametrize("odd", ["50%", "a_b", 'say "hi"', "back\\slash", "'; drop"])
def test_search_text_is_data_not_syntax(store: Store, recorder: Recorder, odd: str) -> None:
    recorder.record([make_event("odd", "failed", NOW, {"job": "j", "error_message": f"x {odd} y"})])
    recorder.record([make_event("plain", "failed", NOW, {"job": "j", "error_message": "50 percent, ab"})])
    assert _all_pages(store, RunFilter(text=odd)) == ["odd"]


def _index_is_sound(store: Store) -> None:
    if store.backend == "sqlite":
        with store.write() as conn:  # raises "database disk image is malformed" when it is not
            conn.exec_driver_sql("INSERT INTO runs_fts(runs_fts, rank) VALUES ('integrity-check', 1)")


def test_search_index_follows_updates_and_deletes(store: Store, recorder: Recorder) -> None:
    recorder.record([make_event("r1", "started", NOW - timedelta(seconds=5), {"job": "sync"})])
    recorder.record([make_event("quiet", "succeeded", NOW, {"job": "sync"})])  # nothing to index
    assert _all_pages(store, RunFilter(text="disk full")) == []
    recorder.record([make_event("r1", "failed", NOW, {"error_message": "disk full on /var"})])
    assert _all_pages(store, RunFilter(text="disk full")) == ["r1"]
    # A newer outcome replaces the message: the old words go, the shared ones stay.
    recorder.record([make_event("r1", "failed", NOW + timedelta(seconds=1), {"error_message": "disk quota"})])
    assert _all_pages(store, RunFilter(text="disk full")) == []
    assert _all_pages(store, RunFilter(text="disk quota")) == ["r1"]
    _index_is_sound(store)
    with store.write() as conn:
        conn.execute(delete(runs).where(runs.c.run_id.in_(["r1", "quiet"])))
    assert _all_pages(store, RunFilter(text="disk")) == []
    _index_is_sound(store)


@pytest.mark.parametrize("bad", ["", "ab", "  x  ", "x" * 201, "disk\x00full", "tab\there"])
def test_search_text_too_short_or_long_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="search"):
        RunFilter(text=bad)


def _plan(conn: Connection, where: RunFilter) -> str:
    query = runs_query(conn.dialect.name, where, ["run_id"]).limit(51)
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        return " ".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    return " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def test_search_uses_the_index(store: Store, recorder: Recorder) -> None:
    record_history(recorder, n=300)
    plain = RunFilter(text="order 1005")
    filtered = RunFilter(text="order 1005", job="clip_sync", statuses=("failed",), since=NOW)
    with store.write() as conn:
        if conn.dialect.name == "sqlite":
            for where in (plain, filtered):
                plan = _plan(conn, where)
                # From the search index to the runs it matched, whatever the other filters.
                assert "runs_fts VIRTUAL TABLE INDEX" in plan, plan
                assert ":M" in plan, plan
                assert "INTEGER PRIMARY KEY (rowid=?)" in plan, plan
        else:
            conn.execute(text("ANALYZE runs"))
            # A few hundred rows are cheaper to scan: rule scans out to see the index matches the query.
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            plan = _plan(conn, plain)
            assert "ix_runs_search" in plan, plan


def test_an_sqlite_error_about_the_query_is_no_outage(sqlite_store: Store) -> None:
    """What SQLite's search parser says of a text it cannot read is a client error, not a 503."""
    from sqlalchemy.exc import OperationalError

    from jobdeck.web.api.errors import is_about_the_statement

    with sqlite_store.read() as conn, pytest.raises(OperationalError) as raised:
        conn.exec_driver_sql("SELECT rowid FROM runs_fts WHERE runs_fts MATCH ?", ('"unterminated',))
    assert is_about_the_statement(raised.value)
    locked = OperationalError("SELECT 1", None, sqlite3.OperationalError("database is locked"))
    assert not is_about_the_statement(locked)
