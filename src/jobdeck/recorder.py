"""The one write path for runs: folds events into runs and rollups, many events a transaction."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from jobdeck import gcpause
from jobdeck.auth.masking import DEFAULT_KEYS, mask_events, mask_folded
from jobdeck.events import Event, RunState, apply_event, join
from jobdeck.store import Store, change_counter, rollups, run_writes
from jobdeck.store.write_lock import for_database as write_lock_for

# Deadlock and serialization failure: the only errors worth trying the same write again for. An
# exhausted retry leaves the OperationalError, which the app answers with 503 and Retry-After.
RETRYABLE = frozenset({"40P01", "40001"})


class MissingJob(ValueError):
    """A run's first events name no job."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} is not known yet, so its event needs a 'job'")
        self.run_id = run_id


@dataclass(frozen=True)
class Recorded:
    """What one call to the recorder did."""

    applied_events: int  # events of the runs the batch changed (a repeated batch changes none)
    runs_changed: int
    changed_run_ids: tuple[str, ...]


@dataclass
class Prepared:
    """A batch made ready outside any transaction: every run it touches folded from what the batch
    says of it alone, the events that stand for it, and — for the runs that name their job — the
    row to insert if the run is new, and the rollups' changes if every run is."""

    states: dict[str, RunState]  # by run id, in run id order
    events: dict[str, int]  # how many of the batch's events each run's state stands for
    fresh: dict[str, tuple[tuple[Any, ...], rollups.Contribution]]  # driver row, contribution
    changes: rollups.Changes  # every fresh run's contribution added


def prepare(
    batch: Sequence[Event], sqlite: bool, folded: Mapping[str, tuple[RunState, int]] | None = None
) -> Prepared:
    """Group a batch by run and fold each run from nothing: the work that needs no store, done
    before the write lock is taken. `folded` adds runs already folded elsewhere (an import's whole
    runs), with the number of events each stands for; a run in both is joined."""
    states: dict[str, RunState] = {}
    counts: dict[str, int] = {}
    for run_id, (state, n) in (folded or {}).items():
        states[run_id], counts[run_id] = state, n
    for event in batch:
        run_id = event.run_id
        run = states.get(run_id)
        if run is None:
            run = states[run_id] = RunState(run_id)
            counts[run_id] = 0
        apply_event(run, event)
        counts[run_id] += 1
    # Every lock is taken in run_id order (and rollup cells in key order), so two writers
    # touching the same runs queue behind each other instead of deadlocking.
    ordered = {run_id: states[run_id] for run_id in sorted(states)}
    fresh = {}
    changes = rollups.Changes()
    for run_id, state in ordered.items():
        if state.job is None:
            continue
        values, contribution = run_writes.values_of(state)
        fresh[run_id] = (run_writes.to_driver(values, sqlite), contribution)
        changes.change(None, contribution)
    return Prepared(ordered, counts, fresh, changes)


# Called with the batch's stored runs (run_writes.load: values by run id) in the write transaction,
# before anything is written; what it raises refuses the batch (auth/sealed.py's check_stored).
StoredCheck = Callable[[Mapping[str, Sequence[Any]]], None]


def record_events(
    conn: Connection, batch: Sequence[Event] | Prepared, check: StoredCheck | None = None
) -> Recorded:
    """Apply events in the caller's transaction. Idempotent and order-tolerant."""
    prepared = batch if isinstance(batch, Prepared) else prepare(batch, conn.dialect.name == "sqlite")
    if not prepared.states:
        return Recorded(0, 0, ())
    stored = run_writes.load(conn, list(prepared.states))
    if check is not None:
        check(stored)
    fresh = prepared.fresh
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    # The changes as prepared (every fresh run added) hold when none of the fresh runs is stored —
    # a batch of new runs, or a live stream's batch whose other runs are only updated: those
    # updates' changes are added to a copy of them (the prepared batch is tried again as it is
    # after a deadlock). Otherwise they are added up again from nothing. (Sums: the order they
    # are added in does not matter.)
    recount = any(run_id in stored for run_id in fresh) if stored else False
    changes = prepared.changes if not stored else rollups.Changes() if recount else prepared.changes.copy()
    changed: list[str] = []
    applied = 0
    for run_id, folded in prepared.states.items():
        old = stored.get(run_id)
        if old is None:
            if run_id not in fresh:
                raise MissingJob(run_id)
            row, contribution = fresh[run_id]
            inserts.append(row)
            if recount:
                changes.change(None, contribution)
        else:
            state = run_writes.state_of(old)
            if not join(state, folded):
                continue
            values, contribution = run_writes.values_of(state)
            updates.append((old, values))
            changes.change(run_writes.contribution_of(old), contribution)
        applied += prepared.events[run_id]
        changed.append(run_id)
    # The runs' writes go with the rollup cells' read, the change counter with their write: on
    # PostgreSQL one event a request takes three round trips with the runs' read, not a dozen.
    writes = [*run_writes.insert_statements(conn, inserts), *run_writes.update_statements(conn, updates)]
    rollups.apply_changes(conn, changes, before=writes, after=[change_counter.BUMP] if changed else [])
    return Recorded(applied, len(changed), tuple(changed))


class Recorder:
    """Records batches of events into a store, one transaction per batch."""

    def __init__(self, store: Store, attempts: int = 5, mask_keys: Sequence[str] = DEFAULT_KEYS) -> None:
        self.store = store
        self.attempts = attempts
        # Values under secret-looking keys of args and kwargs are masked before anything is stored.
        self.mask_keys = tuple(mask_keys)
        # Held around each write transaction: writers of one SQLite store take turns on it and
        # wake at once, where SQLite's busy handler sleeps in growing steps (store/write_lock.py).
        # (A store in memory has no file to put the lock beside, and no other process to share it.)
        database = store.engine.url.database or ":memory:"
        on_disk = store.backend == "sqlite" and database != ":memory:"
        self.write_lock: AbstractContextManager[Any] = write_lock_for(database) if on_disk else nullcontext()
        # Called with what was recorded after each batch commits (live views hook in here).
        self.listeners: list[Callable[[Recorded], None]] = []

    def record(
        self,
        batch: Sequence[Event],
        folded: Mapping[str, tuple[RunState, int]] | None = None,
        check: StoredCheck | None = None,
    ) -> Recorded:
        """Record a batch in one transaction, then tell the listeners. `folded`: runs folded
        already (with the number of events each stands for), recorded with the batch; `check`:
        called with the batch's stored runs before anything is written (raising refuses it)."""
        batch = mask_events(list(batch), self.mask_keys)
        if folded:
            folded = mask_folded(folded, self.mask_keys)
        with gcpause.paused():
            recorded = self._record(batch, folded, check)
        if recorded.runs_changed:
            for listener in self.listeners:
                listener(recorded)
        return recorded

    def _record(
        self,
        batch: Sequence[Event],
        folded: Mapping[str, tuple[RunState, int]] | None,
        check: StoredCheck | None,
    ) -> Recorded:
        prepared = prepare(batch, self.store.backend == "sqlite", folded)
        for attempt in range(self.attempts):
            try:
                with self.write_lock, self.store.write() as conn:
                    return record_events(conn, prepared, check)
            except OperationalError as exc:
                # PostgreSQL chose this transaction as a deadlock or serialization victim (runs and
                # rollup cells are locked in one order, so this is rare): pause a little, a random
                # share of a doubling step, so the writers that collided do not collide again.
                if getattr(exc.orig, "sqlstate", None) not in RETRYABLE or attempt == self.attempts - 1:
                    raise
                time.sleep(backoff_s(attempt))
        raise AssertionError("unreachable")


def backoff_s(attempt: int, base_s: float = 0.01, cap_s: float = 0.5) -> float:
    """The pause before retry `attempt + 1`: full jitter over a step that doubles each attempt."""
    # Jitter, not a secret: `random` is the right tool (S311).
    return random.uniform(0, min(cap_s, base_s * 2**attempt))  # noqa: S311
