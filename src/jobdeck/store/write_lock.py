"""Taking turns writing one SQLite store: a lock every writer of this machine shares.

SQLite lets one writer in at a time and makes the others wait in its busy handler, which sleeps in
growing steps (1, 2, 5, 10 … 100 ms) and retries: with several busy writers a batch often waits
far longer than the one before it took. Writers that go through the recorder take an advisory
lock on a file beside the database first (`flock`: the kernel wakes the next one at once), with a
thread lock in front of it for the threads of one process. Writers that do not (a migration, a
retention pass) still meet SQLite's own lock.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType


class WriteLock:
    """An exclusive lock on `path` across threads and processes (the file is made if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> WriteLock:
        self._threads.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_locks: dict[Path, WriteLock] = {}
_guard = threading.Lock()


def for_database(database: str) -> WriteLock:
    """The lock of a SQLite database file: one object per file in a process."""
    path = Path(f"{os.path.abspath(database)}.write-lock")
    with _guard:
        return _locks.setdefault(path, WriteLock(path))
