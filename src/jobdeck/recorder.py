"""The one write path for runs: folds events into runs and rollups, many events a transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from jobdeck.events import Event, RunState, dedupe, fold
from jobdeck.store import Store, rollups
from jobdeck.store import runs as run_rows

RETRYABLE = frozenset({"40P01", "40001"})


class MissingJob(ValueError):
    """A run's first events name no job."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} is not known yet, so its event needs a 'job'")
        self.run_id = run_id


@dataclass(frozen=True)
class Recorded:
    """What one call to the recorder did."""

    new_events: int
    runs_changed: int
    changed_run_ids: tuple[str, ...]


def record_events(conn: Connection, batch: Sequence[Event]) -> Recorded:
    """Apply events in the caller's transaction. Idempotent and order-tolerant."""
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in dedupe(batch):
        grouped[event.run_id].append(event)
    if not grouped:
        return Recorded(0, 0, ())
    # Every lock is taken in run_id order (and rollup cells in key order), so two writers
    # touching the same runs queue behind each other instead of deadlocking.
    by_run = {run_id: grouped[run_id] for run_id in sorted(grouped)}
    stored = run_rows.load_rows(conn, list(by_run))

    # Runs whose new events all sort after what they have fold forward; the rest refold.
    refold = [
        run_id
        for run_id, evs in by_run.items()
        if run_id in stored and any(e.key <= stored[run_id]["fold_key"] for e in evs)
    ]
    history = run_rows.load_events(conn, refold) if refold else {}
    refolding = set(refold)

    new_events: list[Event] = []
    inserts, updates = [], []
    changes = rollups.Changes.empty()
    changed: list[str] = []
    for run_id, evs in by_run.items():
        old_row = stored.get(run_id)
        state: RunState
        if run_id in refolding:
            known = {e.key for e in history.get(run_id, [])}
            fresh = [e for e in evs if e.key not in known]
            if not fresh:
                continue
            state = fold(run_id, [*history.get(run_id, []), *fresh])
        else:
            fresh = evs
            state = fold(run_id, evs, run_rows.row_to_state(old_row) if old_row else None)
        if state.job is None:
            raise MissingJob(run_id)
        new_events.extend(fresh)
        row = run_rows.state_to_row(state)
        changed.append(run_id)
        if old_row is None:
            inserts.append(row)
            changes.change(None, rollups.contribution_of(row))
        else:
            updates.append(row)
            changes.change(rollups.contribution_of(old_row), rollups.contribution_of(row))

    run_rows.insert_events(conn, new_events)
    run_rows.insert_runs(conn, inserts)
    run_rows.update_runs(conn, updates)
    rollups.apply_changes(conn, changes)
    return Recorded(len(new_events), len(changed), tuple(changed))


class Recorder:
    """Records batches of events into a store, one transaction per batch."""

    def __init__(self, store: Store, attempts: int = 5) -> None:
        self.store = store
        self.attempts = attempts
        # Called with what was recorded after each batch commits (live views hook in here).
        self.listeners: list[Callable[[Recorded], None]] = []

    def record(self, batch: Sequence[Event]) -> Recorded:
        """Record a batch in one transaction, then tell the listeners."""
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
