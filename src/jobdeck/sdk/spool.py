"""The spool: events the destination could not take yet, as JSON Lines files on disk, oldest first.

Each spooled batch is its own file, written under a temporary name and renamed into place, so a
file is never seen half-written and several processes can share a spool. Two processes replaying
the same file only send its events twice, which the recorder ignores (events are idempotent).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("jobdeck.sdk")
_STALE_TMP_S = 3600.0


class Spool:
    """A bounded directory of spooled event batches."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._seq = itertools.count()

    def append(self, events: Sequence[dict[str, Any]]) -> None:
        """Write a batch to the spool, then drop the oldest files while the spool is over its cap."""
        self._write(events, ".jsonl")

    def hold(self, events: Sequence[dict[str, Any]]) -> Path | None:
        """Keep events the destination failed on apart, as a `.held` file: the sender tries it
        again with back-off, apart from the replay, so it does not hold back later events."""
        return self._write(events, ".held")

    def set_aside(self, events: Sequence[dict[str, Any]]) -> Path | None:
        """Keep events the destination refused (a `.rejected` file): never sent again by itself,
        listed by `jobdeck spool show`, sent again by `jobdeck spool resend --rejected`."""
        return self._write(events, ".rejected")

    def _write(self, events: Sequence[dict[str, Any]], suffix: str) -> Path | None:
        if not events:
            return None
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):06d}"
        tmp = self.path / f"{name}.tmp"
        with tmp.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
        path = self.path / f"{name}{suffix}"
        os.replace(tmp, path)
        self._enforce_cap()
        return path

    def files(self) -> list[Path]:
        """The spooled batches, oldest first."""
        return self._listed("*.jsonl")

    def held(self) -> list[Path]:
        """The held batches, oldest first."""
        return self._listed("*.held")

    def rejected(self) -> list[Path]:
        """The set-aside batches, oldest first."""
        return self._listed("*.rejected")

    def _listed(self, pattern: str) -> list[Path]:
        try:
            return sorted(self.path.glob(pattern))
        except OSError:
            return []

    def read(self, file: Path) -> list[dict[str, Any]]:
        """The events of one spooled batch (an unreadable line is logged and skipped)."""
        events = []
        with file.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    event = json.loads(line)
                except ValueError:
                    log.warning("jobdeck spool: skipping unreadable line %d of %s", number, file)
                    continue
                if isinstance(event, dict):
                    events.append(event)
        return events

    def remove(self, file: Path) -> None:
        file.unlink(missing_ok=True)

    def size(self) -> int:
        """Bytes on disk, held and set-aside batches included."""
        return sum(_size(file) for file in self._stored())

    def _stored(self) -> list[Path]:
        """Spooled, held and set-aside batches together, oldest first."""
        return sorted([*self.files(), *self.held(), *self.rejected()], key=lambda file: file.name)

    def _enforce_cap(self) -> None:
        now = time.time()
        for tmp in self.path.glob("*.tmp"):
            # A writer that died mid-write left this behind.
            if now - _mtime(tmp) > _STALE_TMP_S:
                tmp.unlink(missing_ok=True)
        files = self._stored()
        total = sum(_size(file) for file in files)
        for file in files:
            if total <= self.max_bytes:
                break
            lost = _count_lines(file)
            total -= _size(file)
            self.remove(file)
            log.warning(
                "jobdeck spool %s is over its cap of %d bytes: dropped its oldest %d events",
                self.path,
                self.max_bytes,
                lost,
            )


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _mtime(file: Path) -> float:
    try:
        return file.stat().st_mtime
    except OSError:
        return time.time()


def _count_lines(file: Path) -> int:
    try:
        with file.open("rb") as data:
            return sum(1 for _ in data)
    except OSError:
        return 0
