"""The one write path for runs: folds events into runs and rollups, many events a transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from jobdeck import gcpause
from jobdeck.events import Event, RunState, apply_event
from jobdeck.store import Store, rollups, run_writes
from jobdeck.store import changes as change_counter

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


def record_events(conn: Connection, batch: Sequence[Event]) -> Recorded:
    """Apply events in the caller's transaction. Idempotent and order-tolerant."""
    grouped: dict[str, list[Event]] = {}
    for event in batch:
        found = grouped.get(event.run_id)
        if found is None:
            grouped[event.run_id] = [event]
        else:
            found.append(event)
    if not grouped:
        return Recorded(0, 0, ())
    # Every lock is taken in run_id order (and rollup cells in key order), so two writers
    # touching the same runs queue behind each other instead of deadlocking.
    run_ids = sorted(grouped)
    stored = run_writes.load(conn, run_ids)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    changes = rollups.Changes()
    changed: list[str] = []
    applied = 0
    for run_id in run_ids:
        old = stored.get(run_id)
        state = run_writes.state_of(old) if old is not None else RunState(run_id)
        effective = 0
        for event in grouped[run_id]:
            effective += apply_event(state, event)
        if not effective:
            continue
        applied += effective
        if state.job is None:
            raise MissingJob(run_id)
        values, contribution = run_writes.values_of(state)
        changed.append(run_id)
        if old is None:
            inserts.append(values)
            changes.change(None, contribution)
        else:
            updates.append((old, values))
            changes.change(run_writes.contribution_of(old), contribution)
    run_writes.insert(conn, inserts)
    run_writes.update(conn, updates)
    rollups.apply_changes(conn, changes)
    if changed:
        change_counter.bump(conn)
    return Recorded(applied, len(changed), tuple(changed))


class Recorder:
    """Records batches of events into a store, one transaction per batch."""

    def __init__(self, store: Store, attempts: int = 5) -> None:
        self.store = store
        self.attempts = attempts
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
        for attempt in range(self.attempts):
            try:
                with self.store.write() as conn:
                    return record_events(conn, batch)
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
