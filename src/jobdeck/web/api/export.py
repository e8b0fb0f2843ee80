"""Downloads: runs, failure groups and job summaries as CSV, JSON or JSON Lines, streamed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from jobdeck.store import export, reports
from jobdeck.store.failures import failure_groups
from jobdeck.web.api.models import ExportedRun, FailureGroupRow, JobSummary, json_rows
from jobdeck.web.deps import StoreDep, WindowDep
from jobdeck.web.run_filters import RunFilterDep

router = APIRouter(prefix="/api/v1/export", tags=["export"])
ROWS_PER_CHUNK = 500
FAILURE_COLUMNS = (
    "fingerprint",
    "job",
    "error_type",
    "signature",
    "count",
    "first_seen",
    "last_seen",
    "sample_run_id",
    "sample_message",
    "jobs",
    "sparkline",
    "sample_traceback",
)


class Format(StrEnum):
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"


MEDIA_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.JSON: "application/json",
    Format.JSONL: "application/x-ndjson",
}
FormatQuery = Annotated[Format, Query(description="csv, json (one array) or jsonl (one run a line)")]


def _iso(value: datetime | date) -> str:
    """ISO 8601 with UTC as "Z", as the JSON API writes times."""
    return value.isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return _iso(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return _iso(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=_plain)
    return str(value)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading apostrophe, which
    spreadsheets show as text (numbers, including negative ones, stay as they are)."""
    text = _cell(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def encode(rows: Iterable[dict[str, Any]], fmt: Format, columns: Sequence[str]) -> Iterator[str]:
    """Text chunks of the rows in a format, ROWS_PER_CHUNK rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if fmt is Format.CSV:
        writer.writerow(columns)
    elif fmt is Format.JSON:
        buffer.write("[")
    pending = 0
    first = True
    for row in rows:
        if fmt is Format.CSV:
            writer.writerow([_csv_cell(row.get(name)) for name in columns])
        else:
            text = json.dumps({name: row.get(name) for name in columns}, default=_plain)
            if fmt is Format.JSON:
                buffer.write(text if first else "," + text)
            else:
                buffer.write(text + "\n")
        first = False
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if fmt is Format.JSON:
        buffer.write("]")
    yield buffer.getvalue()


def download(chunks: Iterator[str], fmt: Format, name: str) -> StreamingResponse:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="jobdeck-{name}-{stamp}.{fmt.value}"'},
    )


@router.get(
    "/runs", responses=json_rows(ExportedRun, "Runs"), summary="Download runs matching a run list's filters"
)
def export_runs(store: StoreDep, where: RunFilterDep, format: FormatQuery = Format.CSV) -> StreamingResponse:
    """Every matching run, newest first, read from the store in batches as the download proceeds."""
    rows = export.stream_runs(store, where)
    return download(encode(rows, format, export.EXPORT_COLUMNS), format, "runs")


@router.get(
    "/failures",
    responses=json_rows(FailureGroupRow, "Failure groups"),
    summary="Download the failure groups of a window",
)
def export_failures(
    store: StoreDep,
    window: WindowDep,
    job: Annotated[str | None, Query(max_length=200)] = None,
    format: FormatQuery = Format.CSV,
) -> StreamingResponse:
    """Failed runs grouped by fingerprint, as on the failures page."""
    with store.read() as conn:
        report = failure_groups(conn, window.since, window.until, job or None)
    rows = (group.as_dict() for group in report.groups)
    return download(encode(rows, format, FAILURE_COLUMNS), format, "failures")


@router.get(
    "/jobs",
    responses=json_rows(JobSummary, "Job summaries"),
    summary="Download the per-job summary of a window",
)
def export_jobs(
    store: StoreDep,
    window: WindowDep,
    job: Annotated[str | None, Query(max_length=200)] = None,
    format: FormatQuery = Format.CSV,
) -> StreamingResponse:
    """The same rows as GET /api/v1/jobs."""
    with store.read() as conn:
        summaries = reports.job_summaries(conn, window.since, window.until, job or None)
    columns = list(summaries[0]) if summaries else ["job"]
    return download(encode(summaries, format, columns), format, "jobs")
