"""Data commands: import history, clean up old runs, verify the rollups against the raw runs."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from jobdeck import importing
from jobdeck.cli.common import DbOption, console, open_store, out, settings_for
from jobdeck.store import verify
from jobdeck.store.retention import cleanup as cleanup_store

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> timedelta:
    """'30d', '12h', '90m', '2w' or '3600s' as a timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise typer.BadParameter("use a number and a unit: 30d, 12h, 90m, 2w")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl or .csv file")],
    db: DbOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events recorded per transaction")] = 20_000,
    workers: Annotated[
        int, typer.Option(min=0, help="Processes recording batches (0: one per core for a large file)")
    ] = 0,
) -> None:
    """Load history (events or whole runs) from JSON lines or CSV; see docs/import.md for the format."""
    store = open_store(settings_for(db))
    started = time.perf_counter()
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("import", total=file.stat().st_size)
            totals = importing.import_file(
                store,
                file,
                batch_size=batch_size,
                workers=workers or importing.default_workers(file),
                progress=lambda size: bar.advance(task, size),
            )
    except importing.BadRecord as exc:
        console.print(f"[red]error:[/red] {file}: {exc}", soft_wrap=True)
        console.print("The batch holding it was not stored; the others were: importing again skips them.")
        raise typer.Exit(1) from None
    except UnicodeDecodeError as exc:
        console.print(f"[red]error:[/red] {file} is not UTF-8 text: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    elapsed = time.perf_counter() - started
    out.print(
        f"imported {totals.events} events ({totals.runs_changed} run changes) from {file} in {elapsed:.1f} s"
    )


def cleanup(
    older_than: Annotated[str, typer.Option("--older-than", help="Age of runs to delete: 30d, 12h, 2w")],
    db: DbOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs deleted per transaction")] = 5000,
    keep_minute_rollups: Annotated[bool, typer.Option(help="Keep per-minute rollups too")] = False,
) -> None:
    """Delete finished runs older than the age; hour and day rollups stay."""
    age = parse_age(older_than)
    store = open_store(settings_for(db))
    try:
        cleaned = cleanup_store(
            store, datetime.now(UTC) - age, batch_size=batch_size, minute_rollups=not keep_minute_rollups
        )
    finally:
        store.close()
    out.print(f"deleted {cleaned.runs} runs and {cleaned.minute_rollups} minute rollups")


def verify_rollups(
    db: DbOption = None,
    days: Annotated[int | None, typer.Option(min=1, help="Check only the last N days")] = None,
) -> None:
    """Recompute the rollups from the raw runs, day by day, and report any difference (exit 1)."""
    store = open_store(settings_for(db))
    problems: list[str] = []
    try:
        with store.read() as conn:
            checked = verify.days_to_check(conn)
        if days is not None and checked:
            checked = [day for day in checked if day > checked[-1] - days * verify.DAY]
        for day in checked:
            with store.read() as conn:
                problems += verify.differences(conn, limit=20, since=day, until=day + verify.DAY)
            if len(problems) >= 20:
                break
    finally:
        store.close()
    for problem in problems[:20]:
        out.print(f"[red]differs:[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    out.print(f"rollups agree with the raw runs ({len(checked)} days checked)")


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
    app.command("cleanup")(cleanup)
    app.command("verify-rollups")(verify_rollups)
