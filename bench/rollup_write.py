"""The rollups' Python side of a write: Changes.add and apply_changes for 10,000 runs, in CPU time.

    python bench/rollup_write.py                      # this checkout's rollups
    python bench/rollup_write.py --against old.py     # and a module with the same API (e.g. the
                                                      # store/rollups.py of an older commit), interleaved

Each round records 10,000 runs' contributions (40 jobs, a run every 7 s) into a fresh SQLite store
three times: inserts, then two updates of the same cells. CPU time, median of the rounds: the machine
is shared, and the SQL is the same for both, so the Python around it is what differs.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import machine
from jobdeck.store import Store, rollups

STATUSES = ["succeeded"] * 8 + ["failed", "running"]


def contributions(count: int = 10_000) -> list[tuple[Any, ...]]:
    rnd = random.Random(1)
    return [
        (f"job{i % 40}", 1_700_000_000 + i * 7, STATUSES[i % 10], rnd.random() * 10, rnd.random(),
         (3, 0, 0) if i % 3 else (0, 0, 0), None)
        for i in range(count)
    ]  # fmt: skip


def one_round(module: ModuleType, path: Path, rows: list[tuple[Any, ...]]) -> tuple[float, float]:
    """CPU seconds of Changes.add and of apply_changes, per write of the runs."""
    store = Store(f"sqlite:///{path}")
    store.migrate()
    runs = [module.Contribution(*row) for row in rows]
    add = apply = 0.0
    for _ in range(3):
        began = time.process_time()
        changes = module.Changes()
        for run in runs:
            changes.change(None, run)
        added = time.process_time()
        with store.write() as conn:
            module.apply_changes(conn, changes)
        add, apply = add + added - began, apply + time.process_time() - added
    store.close()
    return add / 3, apply / 3


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("other_rollups", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", help="a module with Contribution, Changes and apply_changes")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    modules = {"this": rollups}
    if args.against:
        modules["against"] = load(args.against)
    rows = contributions()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in modules}
    with tempfile.TemporaryDirectory() as folder:
        for index in range(args.rounds):
            order = list(modules.items())
            if index % 2:  # alternate who goes first
                order.reverse()
            for name, module in order:
                times[name].append(one_round(module, Path(folder) / f"{name}{index}.db", rows))
    for name, rounds in times.items():
        add = statistics.median(r[0] for r in rounds)
        apply = statistics.median(r[1] for r in rounds)
        print(
            f"{name:8s} Changes.add {add * 1000:5.0f} ms, apply_changes {apply * 1000:5.0f} ms (10,000 runs)"
        )
    print(machine.describe())


if __name__ == "__main__":
    main()
