"""The one write path for runs: folds events into runs and rollups, many events a transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from jobdeck import gcpause
from jobdeck.events import Event, RunState, apply_event
from jobdeck.store import Store, rollups, run_writes
from jobdeck.store import changes as change_counter
from jobdeck.store.write_lock import for_database as write_lock_for

RETRYABLE = frozenset({"40P01", "40001"})


class MissingJob(ValueError):
    """A run's first events name no job."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} is not known yet, so its event needs a 'job'")
        self.run_id = run_id


@dataclass(frozen=True)
class Recorded:
    """What one call to the recorder did."""

    applied_events: int  # events that changed their run (a repeated event changes nothing)
    runs_changed: int
    changed_run_ids: tuple[str, ...]


@dataclass
class Prepared:
    """A batch made ready outside any transaction: its events by run, and every run folded as if
    it were new (values as the driver takes them, and the rollups' changes if all are)."""

    events: dict[str, list[Event]]  # by run id, in run id order
    fresh: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], rollups.Contribution, int]]
    changes: rollups.Changes  # every fresh run's contribution added


def prepare(batch: Sequence[Event], sqlite: bool) -> Prepared:
    """Group a batch by run and fold each run from nothing: the work that needs no store, done
    before the write lock is taken. A run whose events name no job is left to the store."""
    grouped: dict[str, list[Event]] = {}
    for event in batch:
        found = grouped.get(event.run_id)
        if found is None:
            grouped[event.run_id] = [event]
        else:
            found.append(event)
    # Every lock is taken in run_id order (and rollup cells in key order), so two writers
    # touching the same runs queue behind each other instead of deadlocking.
    events = {run_id: grouped[run_id] for run_id in sorted(grouped)}
    fresh = {}
    changes = rollups.Changes()
    for run_id, evs in events.items():
        state = RunState(run_id)
        applied = 0
        for event in evs:
            applied += apply_event(state, event)
        if state.job is None:
            continue
        values, contribution = run_writes.values_of(state)
        fresh[run_id] = (values, run_writes.to_driver(values, sqlite), contribution, applied)
        changes.change(None, contribution)
    return Prepared(events, fresh, changes)


def record_events(conn: Connection, batch: Sequence[Event] | Prepared) -> Recorded:
    """Apply events in the caller's transaction. Idempotent and order-tolerant."""
    prepared = batch if isinstance(batch, Prepared) else prepare(batch, conn.dialect.name == "sqlite")
    if not prepared.events:
        return Recorded(0, 0, ())
    stored = run_writes.load(conn, list(prepared.events))
    fresh = prepared.fresh
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    # The changes as prepared hold when every run is new; otherwise they are added up again.
    changes = prepared.changes if not stored else rollups.Changes()
    changed: list[str] = []
    applied = 0
    for run_id, evs in prepared.events.items():
        old = stored.get(run_id)
        if old is None:
            if run_id not in fresh:
                raise MissingJob(run_id)
            _, row, contribution, effective = fresh[run_id]
            inserts.append(row)
            if stored:
                changes.change(None, contribution)
            applied += effective
            changed.append(run_id)
            continue
        state = run_writes.state_of(old)
        effective = 0
        for event in evs:
            effective += apply_event(state, event)
        if not effective:
            continue
        applied += effective
        values, contribution = run_writes.values_of(state)
        changed.append(run_id)
        updates.append((old, values))
        changes.change(run_writes.contribution_of(old), contribution)
    run_writes.insert_driver_rows(conn, inserts)
    run_writes.update(conn, updates)
    rollups.apply_changes(conn, changes)
    if changed:
        change_counter.bump(conn)
    return Recorded(applied, len(changed), tuple(changed))


class Recorder:
    """Records batches of events into a store, one transaction per batch."""

    def __init__(
        self, store: Store, attempts: int = 5, write_lock: AbstractContextManager[Any] | None = None
    ) -> None:
        self.store = store
        self.attempts = attempts
        # Held around each write transaction: writers of one SQLite store take turns on it and
        # wake at once, where SQLite's busy handler sleeps in growing steps (store/write_lock.py).
        if write_lock is None and store.backend == "sqlite" and store.engine.url.database:
            write_lock = write_lock_for(store.engine.url.database)
        self.write_lock = write_lock or nullcontext()
        # Called with what was recorded after each batch commits (live views hook in here).
        self.listeners: list[Callable[[Recorded], None]] = []

    def record(self, batch: Sequence[Event]) -> Recorded:
        """Record a batch in one transaction, then tell the listeners."""
        with gcpause.paused():
            recorded = self._record(batch)
        if recorded.runs_changed:
            for listener in self.listeners:
                listener(recorded)
        return recorded

    def _record(self, batch: Sequence[Event]) -> Recorded:
        prepared = prepare(batch, self.store.backend == "sqlite")
        for attempt in range(self.attempts):
            try:
                with self.write_lock, self.store.write() as conn:
                    return record_events(conn, prepared)
            except IntegrityError:
                # Another writer created one of these runs or events first: their rows are
                # there now, so a second pass folds onto them.
                if attempt == self.attempts - 1:
                    raise
            except OperationalError as exc:
                # PostgreSQL chose this transaction as a deadlock or serialization victim.
                if getattr(exc.orig, "sqlstate", None) not in RETRYABLE or attempt == self.attempts - 1:
                    raise
        raise AssertionError("unreachable")
