"""`jobdeck import` against the raw insert rate of the same rows, measured in the same run.

    python bench/import_rate.py --db sqlite:////tmp/scale/import.db --runs 100000
    python bench/import_rate.py --db postgresql://postgres@127.0.0.1:5432/scale_import --runs 100000

Writes a CSV of whole runs (one line a run: created, started, finished, status, fields), then:
  raw     the runs rows `jobdeck import` ends up storing for it (one a line), prepared in memory
          first, inserted by a plain executemany (SQLite) / COPY (PostgreSQL) into the runs table
          of an empty store (its indexes included): the physical limit;
  import  `jobdeck import FILE` in a subprocess into another empty store: reading, validating,
          folding, writing runs and rollups.
Each store is emptied first (for PostgreSQL: the database in --db is dropped and created again).
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from jobdeck.events import fold
from jobdeck.importing import Record, events_of
from jobdeck.store import Store, bulk, run_writes
from jobdeck.store.schema import runs

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


def raw_rate(url: str, path: Path) -> float:
    """Lines a second for a plain bulk insert of the runs rows an import of `path` stores."""
    now = datetime.now(UTC)
    with path.open(newline="") as handle:
        records = [
            Record(i + 2, {k: v for k, v in row.items() if v}, 0)
            for i, row in enumerate(csv.DictReader(handle))
        ]
    store = fresh(url)
    sqlite = store.backend == "sqlite"
    rows = []
    for record in records:
        evs = events_of(record, now)
        rows.append(run_writes.to_driver(run_writes.values_of(fold(evs[0].run_id, evs))[0], sqlite))
    began = time.perf_counter()
    for start in range(0, len(rows), 20_000):
        with store.write() as conn:
            bulk.insert(conn, runs, run_writes.WRITE_COLUMNS, rows[start : start + 20_000])
    elapsed = time.perf_counter() - began
    store.close()
    return len(records) / elapsed


def import_rate(url: str, path: Path, lines: int) -> float:
    fresh(url).close()
    jobdeck = str(Path(sys.executable).with_name("jobdeck"))
    began = time.perf_counter()
    subprocess.run([jobdeck, "import", str(path), "--db", url], check=True, capture_output=True)
    return lines / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--file", type=Path, default=Path("/tmp/jobdeck-import-bench.csv"))
    args = parser.parse_args()
    write_csv(args.file, args.runs)
    raw = raw_rate(args.db, args.file)
    imported = import_rate(args.db, args.file, args.runs)
    print(f"{args.db.split(':')[0]}: {args.runs:,} runs ({3 * args.runs:,} events)")
    print(f"  raw bulk insert of the stored rows: {raw:,.0f} runs/s")
    print(f"  jobdeck import:                     {imported:,.0f} runs/s ({3 * imported:,.0f} events/s)")
    print(f"  import / raw:                       {imported / raw:.0%}")


if __name__ == "__main__":
    main()
