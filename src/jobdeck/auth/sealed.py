"""Fields an executor sealed stay as it recorded them: an event (from anyone) that would change a
sealed run's job, host, args, kwargs or seal is refused with 409 naming the field, so nobody can
rewrite the command a later Retry would run, or break its seal so that Retry is refused for good.

A command the server's own executor is running records its outcome itself (an operator ends it
through a stop, which goes through the executor too): an outcome event for it from outside (the
HTTP ingest) is refused the same way, so nobody can mark it succeeded, failed or lost while it
runs. (`jobdeck run` seals its commands too, but records their outcomes over HTTP: its runs are not
the server's, so their outcomes are taken.)"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Any

from jobdeck.domain import EventKind
from jobdeck.events import Event
from jobdeck.executors.seal import LABEL
from jobdeck.store import run_writes
from jobdeck.store import runs as run_rows
from jobdeck.store.store import Store

SEALED = ("job", "host", "args", "kwargs")
OUTCOMES = frozenset(
    {EventKind.SUCCEEDED, EventKind.FAILED, EventKind.CANCELLED, EventKind.LOST, EventKind.RETRYING}
)


class SealBroken(ValueError):
    """An event would change a field its run's executor sealed, or record its outcome."""

    def __init__(self, index: int, run_id: str, field: str, message: str | None = None) -> None:
        super().__init__(
            message
            or f"event {index}: field '{field}': run {run_id!r} was sealed by its executor, "
            f"and its {field} cannot be changed by later events"
        )
        self.field = field


def _differs(stored: Any, sent: Any) -> bool:
    return stored is not None and sent != stored


def check(store: Store, events: Sequence[Event], running_here: Container[str] = ()) -> None:
    """Raise SealBroken for the first event that would change a sealed field of a stored run, or
    record an outcome of a run in `running_here` (the commands this server's executor runs now)."""
    check_running(events, running_here)
    touching = [e.run_id for e in events if _touches(e)]
    if not touching:
        return
    with store.read() as conn:
        sealed = run_rows.sealed_fields(conn, touching, LABEL)
    _check_sealed(events, sealed)


def check_running(events: Sequence[Event], running_here: Container[str]) -> None:
    """`check`'s refusal of an outcome from outside for a run in `running_here`."""
    for index, event in enumerate(events):
        if event.kind in OUTCOMES and event.run_id in running_here:
            raise SealBroken(
                index,
                event.run_id,
                "event",
                f"event {index}: field 'event': run {event.run_id!r} is running under jobdeck's executor, "
                f"which records its outcome; '{event.kind.value}' from outside is refused "
                "(stop it from jobdeck to end it)",
            )


def check_stored(events: Sequence[Event], stored: Mapping[str, Sequence[Any]]) -> None:
    """`check`'s refusal of a change to a sealed field, on the runs as the recorder loaded them in
    its write transaction (run_writes.load: values by run id), before it writes anything: the check
    and the write see the same stored run (no other writer changes it in between), and it costs
    no read of its own (Recorder.record's `check`)."""
    sealed = {}
    for run_id in {e.run_id for e in events if _touches(e)}:
        values = stored.get(run_id)
        if values is None:
            continue
        labels = run_writes.value_of(values, "labels")
        if isinstance(labels, dict) and LABEL in labels:
            sealed[run_id] = {name: run_writes.value_of(values, name) for name in (*SEALED, "labels")}
    if sealed:
        _check_sealed(events, sealed)


def _touches(event: Event) -> bool:
    return any(f in event.data for f in (*SEALED, "labels"))


def _check_sealed(events: Sequence[Event], sealed: Mapping[str, Mapping[str, Any]]) -> None:
    if not sealed:
        return
    for index, event in enumerate(events):
        stored = sealed.get(event.run_id)
        if stored is None:
            continue
        for field in SEALED:
            if field in event.data and _differs(stored[field], event.data[field]):
                raise SealBroken(index, event.run_id, field)
        labels = event.data.get("labels") or {}
        if LABEL in labels and labels[LABEL] != stored["labels"][LABEL]:
            raise SealBroken(index, event.run_id, f"labels.{LABEL}")
