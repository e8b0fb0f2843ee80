"""What the control plane reads to tell whether it can act on runs: who started them, where, with what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from jobdeck.store.schema import runs

ACTION_COLUMNS = ("run_id", "job", "status", "source", "host", "pid", "queue", "args", "kwargs", "labels")
_CHUNK = 500


def action_fields(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per run id, the fields an executor needs to decide whether it can stop or retry the run."""
    found: dict[str, dict[str, Any]] = {}
    columns = [runs.c[name] for name in ACTION_COLUMNS]
    for start in range(0, len(run_ids), _CHUNK):
        chunk = list(run_ids[start : start + _CHUNK])
        for row in conn.execute(select(*columns).where(runs.c.run_id.in_(chunk))):
            found[row.run_id] = dict(row._mapping)
    return found
