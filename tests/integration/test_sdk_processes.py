"""Runs tracked in multiprocessing children reach the store: a child ends by os._exit, skipping atexit."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobdeck.sdk import track
from jobdeck.store import Store
from jobdeck.store.schema import runs


@track("child_job")
def child_job(n: int) -> int:
    return n


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_runs_in_child_processes_and_pool_workers_are_flushed_when_they_end(
    method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    url = f"sqlite:///{tmp_path / 'jobdeck.db'}"
    store = Store(url)
    store.migrate()
    # The children read their settings from the environment, as a user's workers would.
    monkeypatch.setenv("JOBDECK_DATABASE_URL", url)
    monkeypatch.setenv("JOBDECK_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.delenv("JOBDECK_URL", raising=False)
    context = multiprocessing.get_context(method)
    children = [context.Process(target=child_job, args=(n,)) for n in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
    pool = context.Pool(2)
    assert pool.map(child_job, range(3)) == [0, 1, 2]
    pool.close()
    pool.join()
    try:
        with store.read() as conn:
            counted = conn.execute(
                select(func.count()).select_from(runs).where(runs.c.status == "succeeded")
            ).scalar_one()
    finally:
        store.close()
    assert counted == 5
