"""`jobdeck import` against the raw insert rate of the same rows, measured in the same run.

    python bench/import_rate.py --db sqlite:////tmp/scale/import.db --runs 1000000 --repeat 3
    python bench/import_rate.py --db postgresql://postgres@127.0.0.1:5432/scale_import --runs 1000000

Writes a CSV of whole runs (one line a run: created, started, finished, status, fields), then:
  import  `jobdeck import FILE` in a subprocess into an empty store: reading, validating,
          folding, writing runs and rollups;
  raw     the very rows that import stored (runs and rollup cells, read back from its store),
          inserted by a plain executemany (SQLite) / COPY (PostgreSQL) into an empty store beside
          it (indexes included, 20,000 rows a transaction): the physical limit.
Each store is emptied first (for PostgreSQL: the database in --db, and one named after it with
`_raw`, are dropped and created again).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

import machine
from jobdeck.store import Store, bulk
from jobdeck.store.schema import rollups, runs

COLUMNS = ("run_id", "job", "status", "created_at", "started_at", "finished_at", "queue", "error_type")


def write_csv(path: Path, total: int) -> None:
    rnd = random.Random(2)
    start = datetime.now(UTC) - timedelta(days=7)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(total):
            began = start + timedelta(seconds=i * 6)
            failed = rnd.random() < 0.05
            out.writerow(
                (
                    f"import-{i:08d}",
                    f"job{i % 40:02d}",
                    "failed" if failed else "completed",
                    (began - timedelta(seconds=rnd.random() * 5)).isoformat(),
                    began.isoformat(),
                    (began + timedelta(seconds=rnd.lognormvariate(1, 0.7))).isoformat(),
                    "default",
                    "TimeoutError" if failed else "",
                )
            )


def raw_url(url: str) -> str:
    """Where the raw insert goes: beside the import's store."""
    parsed = make_url(url)
    if url.startswith("sqlite"):
        return parsed.set(database=f"{parsed.database}.raw").render_as_string(False)
    return parsed.set(database=f"{parsed.database}_raw").render_as_string(False)


def settle(store: Store) -> None:
    """Start a timed phase from a quiet server: PostgreSQL writes out what the last phase left
    (a checkpoint in the middle of the next one would be charged to it)."""
    if store.backend == "postgresql":
        with store.write() as conn:
            conn.exec_driver_sql("CHECKPOINT")


def fresh(url: str) -> Store:
    """An empty, migrated store at `url`."""
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        name = make_url(url).database
        admin = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    store = Store(url)
    store.migrate()
    return store


def import_rate(url: str, path: Path, lines: int) -> float:
    """Lines a second for `jobdeck import FILE` in a subprocess into an empty store."""
    store = fresh(url)
    settle(store)
    store.close()
    jobdeck = str(Path(sys.executable).with_name("jobdeck"))
    began = time.perf_counter()
    subprocess.run([jobdeck, "import", str(path), "--db", url], check=True, capture_output=True)
    return lines / (time.perf_counter() - began)


def stored_rows(url: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row the import stored, per table (runs without their ids), as the driver gave them."""
    store = Store(url)
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with store.read() as conn:
        for table in (runs, rollups):
            names = [c.name for c in table.columns if c.name != "id"]
            # Our own column and table names, no values.
            rows = conn.exec_driver_sql(f"SELECT {', '.join(names)} FROM {table.name}").all()  # noqa: S608
            tables[table.name] = (names, [tuple(row) for row in rows])
    store.close()
    return tables


def raw_rate(url: str, tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]], lines: int) -> float:
    """Lines a second for a plain executemany / COPY of the same rows into an empty store."""
    store = fresh(url)
    settle(store)
    began = time.perf_counter()
    for table in (runs, rollups):
        names, rows = tables[table.name]
        for start in range(0, len(rows), 20_000):
            with store.write() as conn:
                bulk.insert(conn, table, names, rows[start : start + 20_000])
    elapsed = time.perf_counter() - began
    store.close()
    return lines / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="import, then raw, this many times")
    parser.add_argument("--file", type=Path, default=Path("/tmp/jobdeck-import-bench.csv"))
    args = parser.parse_args()
    write_csv(args.file, args.runs)
    imports, raws, ratios = [], [], []
    for number in range(args.repeat):
        imported = import_rate(args.db, args.file, args.runs)
        tables = stored_rows(args.db)
        raw = raw_rate(raw_url(args.db), tables, args.runs)
        rows = sum(len(rows) for _, rows in tables.values())
        del tables
        imports.append(imported)
        raws.append(raw)
        ratios.append(imported / raw)
        print(
            f"repeat {number + 1}: import {imported:,.0f} runs/s, raw {raw:,.0f} runs/s, {imported / raw:.0%}"
        )
    imported, raw = statistics.median(imports), statistics.median(raws)
    print(f"{args.db.split(':')[0]}: {args.runs:,} runs ({3 * args.runs:,} events), median of {args.repeat}")
    print(f"  raw bulk insert of the {rows:,} rows it stored (runs and rollup cells): {raw:,.0f} runs/s")
    print(f"  jobdeck import:                     {imported:,.0f} runs/s ({3 * imported:,.0f} events/s)")
    print(f"  import / raw, each repeat:          {', '.join(f'{r:.0%}' for r in ratios)}")
    print(f"  import / raw, median:               {statistics.median(ratios):.0%}")
    print(f"  {machine.describe()}")


if __name__ == "__main__":
    main()
