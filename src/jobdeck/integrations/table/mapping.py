"""Which column of a foreign jobs table holds what, and what its status words mean.

The default is the seed schema: `background_jobs(id, job_type, status, created_at, started_at,
completed_at, error_message)` with the statuses pending, running, completed and failed. A TOML file
(`--source-map`) renames columns and adds status words:

    [columns]
    id = "job_id"
    job_type = "kind"
    status = "state"
    created_at = "inserted_at"
    started_at = "began_at"
    completed_at = "finished_at"
    error_message = ""          # the table has none

    [statuses]
    queued = "pending"
    in_progress = "running"
    ok = "succeeded"
    broken = "failed"

    [tables.other_jobs.columns] # the same keys for one table only (by the name given after #)
    job_type = "name"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jobdeck.domain import Status, normalize_status

COLUMNS = ("id", "job_type", "status", "created_at", "started_at", "completed_at", "error_message")
REQUIRED = ("id", "job_type", "status", "created_at")
TIMES = ("created_at", "started_at", "completed_at")
SEED_STATUSES: dict[str, Status] = {
    "pending": Status.PENDING,
    "running": Status.RUNNING,
    "completed": Status.SUCCEEDED,
    "failed": Status.FAILED,
}


class BadMapping(ValueError):
    """A mapping file, or a table, that does not fit: the message names the column or word."""


@dataclass(frozen=True)
class TableMapping:
    """Our column names to the table's (None: the table has no such column), and its status words."""

    columns: dict[str, str | None] = field(default_factory=lambda: {name: name for name in COLUMNS})
    statuses: dict[str, Status] = field(default_factory=lambda: dict(SEED_STATUSES))

    def column(self, name: str) -> str | None:
        return self.columns.get(name)

    def status_of(self, word: Any) -> Status | None:
        """The status a word of the table means; None for a word the mapping does not know."""
        if word is None:
            return None
        return self.statuses.get(str(word).strip().lower())


SEED = TableMapping()


def _apply(base: TableMapping, section: Mapping[str, Any], where: str) -> TableMapping:
    columns = dict(base.columns)
    statuses = dict(base.statuses)
    for key in section:
        if key not in ("columns", "statuses", "tables"):
            raise BadMapping(f"{where}: unknown section [{key}] (known: columns, statuses, tables)")
    for name, value in (section.get("columns") or {}).items():
        if name not in COLUMNS:
            raise BadMapping(f"{where}: [columns] {name!r} is not one of {', '.join(COLUMNS)}")
        if not isinstance(value, str):
            raise BadMapping(f"{where}: [columns] {name} must be a column name (a string)")
        if not value and name in REQUIRED:
            raise BadMapping(f"{where}: [columns] {name} cannot be left out: the table must have it")
        columns[name] = value or None
    for word, meaning in (section.get("statuses") or {}).items():
        try:
            statuses[str(word).strip().lower()] = normalize_status(str(meaning))
        except ValueError:
            canonical = ", ".join(s.value for s in Status)
            raise BadMapping(
                f"{where}: [statuses] {word} = {meaning!r}: not a status jobdeck knows ({canonical})"
            ) from None
    return replace(base, columns=columns, statuses=statuses)


def load(path: Path | None, table: str) -> TableMapping:
    """The mapping for `table`: the seed's, changed by the file's top level and its [tables.TABLE]."""
    if path is None:
        return SEED
    try:
        document = tomllib.loads(path.read_text())
    except OSError as exc:
        raise BadMapping(f"cannot read the source map {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadMapping(f"the source map {path} is not TOML: {exc}") from None
    mapping = _apply(SEED, document, str(path))
    own = (document.get("tables") or {}).get(table)
    if own is not None:
        mapping = _apply(mapping, own, f"{path} [tables.{table}]")
    return mapping
