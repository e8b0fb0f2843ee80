"""The SQLite write lock: one holder at a time across threads and processes, and the next one
gets it as soon as it is let go."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from jobdeck.store.write_lock import WriteLock, for_database


def _hold(path: str, held: object, seconds: float) -> None:
    with WriteLock(Path(path)):
        held.set()  # type: ignore[attr-defined]
        time.sleep(seconds)


def test_a_second_process_waits_for_the_first_and_gets_it_at_once(tmp_path: Path) -> None:
    path = tmp_path / "jobdeck.db.write-lock"
    context = multiprocessing.get_context("fork")
    held = context.Event()
    child = context.Process(target=_hold, args=(str(path), held, 0.6))
    child.start()
    assert held.wait(10)
    began = time.monotonic()
    with WriteLock(path):
        waited = time.monotonic() - began
    child.join(10)
    assert 0.3 < waited < 1.5


def test_threads_of_a_process_take_turns(tmp_path: Path) -> None:
    lock = for_database(str(tmp_path / "jobdeck.db"))
    assert lock is for_database(str(tmp_path / "jobdeck.db"))
    inside, most = 0, 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(50):
            with lock:
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0005)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == 1
