"""Importing a history file: chunks of records, each recorded as one batch, on several cores.

The file is cut into chunks in this process (lines; CSV rows through the csv module); parsing,
validating, folding and writing a chunk happen in worker processes, one store connection each.
The recorder's fold is a join, so chunks may be recorded in any order and concurrently: the
store serialises the writes and each run ends up the same. One exception: an event of a run not
stored yet must come with the run's job, and the chunk holding that job may still be on its way
when a later chunk arrives; such a chunk is recorded again once the others are done, and only
then is a missing job an error.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from jobdeck import gcpause
from jobdeck.events import Event, RunState, join
from jobdeck.importing.records import BadRecord, Chunk, events_of, read_chunks, run_of
from jobdeck.recorder import MissingJob, Recorder
from jobdeck.store import Store

# Below this many bytes a file is imported in this process: starting workers costs more.
PARALLEL_FROM_BYTES = 4 * 1024 * 1024


@dataclass
class Totals:
    """What an import stored."""

    events: int = 0  # events that changed a run
    runs_changed: int = 0

    def add(self, other: Totals) -> None:
        self.events += other.events
        self.runs_changed += other.runs_changed


class MissingJobIn(Exception):
    """A chunk named a run that is not stored yet without its job (maybe stored by another chunk
    soon); `line` is the run's first line in the chunk."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)  # both in args, so it pickles
        self.line, self.message = line, message


def record_chunk(recorder: Recorder, chunk: Chunk, now: datetime) -> Totals:
    """Parse a chunk and record it in one transaction (BadRecord if a record is invalid)."""
    with gcpause.paused():  # a chunk's records and events are many small objects, none in cycles
        return _record_chunk(recorder, chunk, now)


def _record_chunk(recorder: Recorder, chunk: Chunk, now: datetime) -> Totals:
    events: list[Event] = []
    runs: dict[str, tuple[RunState, int]] = {}  # whole-run records, folded straight
    first_line: dict[str, int] = {}
    for record in chunk.records():
        if "status" in record.fields and "event" not in record.fields:
            state, count = run_of(record)
            first_line.setdefault(state.run_id, record.line)
            found = runs.get(state.run_id)
            if found is None:
                runs[state.run_id] = (state, count)
            else:  # the same run twice in a chunk
                join(found[0], state)
                runs[state.run_id] = (found[0], found[1] + count)
            continue
        for event in events_of(record, now):
            first_line.setdefault(event.run_id, record.line)
            events.append(event)
    try:
        recorded = recorder.record(events, runs)
    except MissingJob as exc:
        raise MissingJobIn(first_line.get(exc.run_id, 0), str(exc)) from None
    return Totals(recorded.applied_events, recorded.runs_changed)


# --- the worker processes -------------------------------------------------------------------------

_worker: tuple[Recorder, datetime] | None = None


def _start_worker(url: str, now: datetime) -> None:
    global _worker
    _worker = (Recorder(Store(url)), now)


def _record_in_worker(chunk: Chunk) -> Totals:
    assert _worker is not None, "the pool starts every worker with _start_worker"
    recorder, now = _worker
    return record_chunk(recorder, chunk, now)


def default_workers(path: Path) -> int:
    """One process for a small file; else a worker a core (at most four)."""
    if path.stat().st_size < PARALLEL_FROM_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def import_file(
    store: Store,
    path: Path,
    *,
    batch_size: int = 20_000,
    workers: int = 1,
    progress: Callable[[int], None] = lambda size: None,
) -> Totals:
    """Import `path` into `store` in chunks of about `batch_size` events; `progress` gets the bytes
    of each chunk done. Raises BadRecord for the first record that cannot be imported: its chunk
    is not stored; chunks recorded before it stay (importing again skips them)."""
    now = datetime.now(UTC)
    # A chunk of whole runs (the usual history file) holds about three events a record.
    records = max(1, batch_size // 3)
    totals = Totals()
    with path.open(encoding="utf-8", newline="") as stream:
        chunks = read_chunks(path, stream, records)
        if workers <= 1:
            recorder = Recorder(store)
            for chunk in chunks:
                totals.add(_with_missing_job_as_error(partial(record_chunk, recorder, chunk, now)))
                progress(chunk.size)
            return totals
        _import_in_parallel(store, chunks, workers, now, totals, progress)
    return totals


def _with_missing_job_as_error(record: Callable[[], Totals]) -> Totals:
    try:
        return record()
    except MissingJobIn as exc:
        raise BadRecord(exc.line, f"{exc.message} (this batch was not stored)") from None


def _import_in_parallel(
    store: Store,
    chunks: Iterator[Chunk],
    workers: int,
    now: datetime,
    totals: Totals,
    progress: Callable[[int], None],
) -> None:
    url = store.url
    store.engine.dispose()  # no connection of this process crosses into the workers
    later: list[Chunk] = []
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(url, now)) as pool:
        running: dict[Future[Totals], Chunk] = {}
        try:
            for chunk in chunks:
                running[pool.submit(_record_in_worker, chunk)] = chunk
                if len(running) >= 2 * workers:  # read ahead no further than the workers get
                    _collect(
                        running, wait(running, return_when=FIRST_COMPLETED).done, totals, later, progress
                    )
            while running:
                _collect(running, wait(running).done, totals, later, progress)
        except BaseException:
            for future in running:
                future.cancel()
            raise
        # Chunks whose runs' jobs were in chunks still on their way: again, now that all are stored.
        for chunk in later:
            totals.add(_with_missing_job_as_error(pool.submit(_record_in_worker, chunk).result))
            progress(chunk.size)


def _collect(
    running: dict[Future[Totals], Chunk],
    done: set[Future[Totals]],
    totals: Totals,
    later: list[Chunk],
    progress: Callable[[int], None],
) -> None:
    for future in done:
        chunk = running.pop(future)
        try:
            totals.add(future.result())
        except MissingJobIn:
            later.append(chunk)
            continue
        progress(chunk.size)
