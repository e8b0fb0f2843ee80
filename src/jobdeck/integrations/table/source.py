"""The poll of a foreign jobs table: a loop of `jobdeck serve` per `--source-table URL#TABLE`.

Each pass reads the rows whose times reached the watermark (the largest time seen a pass earlier,
so a row committed a little late is still read) and every row it holds as still open (pending or
running), turns them into events and records them: a row that changes from running to failed shows
within one poll interval. The first pass reads the whole table in pages by id. A row deleted under it
leaves its run as it was last seen. When the database goes away the source says so once and
resumes by itself; nothing it reads can stop `serve`.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from jobdeck.background.periodic import Periodic
from jobdeck.config import Settings
from jobdeck.events import Event
from jobdeck.integrations.table import mapping as table_mapping
from jobdeck.integrations.table import rows as table_rows
from jobdeck.integrations.table.mapping import BadMapping, TableMapping
from jobdeck.integrations.table.reader import PAGE_ROWS, TableReader, split_target
from jobdeck.recorder import Recorder
from jobdeck.store.reachability import short_reason

log = logging.getLogger(__name__)


@dataclass
class Polled:
    """What one pass did."""

    rows: int = 0
    runs_changed: int = 0
    open_rows: int = 0
    gone: int = 0  # open rows deleted under it
    skipped: int = 0  # rows that could not be runs

    def __bool__(self) -> bool:
        return bool(self.runs_changed or self.gone or self.skipped)

    def __str__(self) -> str:
        return (
            f"{self.rows} rows read, {self.runs_changed} runs changed, {self.open_rows} open"
            + (f", {self.gone} deleted" if self.gone else "")
            + (f", {self.skipped} skipped" if self.skipped else "")
        )


class TableSource(Periodic):
    """One foreign table, polled every `every_s` seconds (a services.Loop with `run_once`)."""

    def __init__(self, target: str, recorder: Recorder, every_s: float, map_file: Path | None = None) -> None:
        url, table = split_target(target)
        self.table = table
        self.mapping: TableMapping = table_mapping.load(map_file, table)
        self.reader = TableReader(url, table, self.mapping)
        self.recorder = recorder
        self.checked = False
        self.scanned_to: Any = None  # the last id of the first full read, while it goes on
        self.scanned = False
        self.marks: deque[Any] = deque(maxlen=2)  # the largest time seen after each of the last passes
        self.open: set[Any] = set()  # ids of rows last seen pending or running
        self.unreachable_since: datetime | None = None
        self.problem: str | None = None
        self._reported: set[tuple[Any, str]] = set()
        super().__init__(f"source table {table}", self.run_once, every_s)

    # --- starting --------------------------------------------------------------------------------

    def check(self) -> bool:
        """Check the table against the mapping (BadMapping names the column or word); False when the
        database cannot be reached now (the loop checks again once it can)."""
        try:
            self.reader.check()
        except (OperationalError, DBAPIError) as exc:
            self._unreachable(exc)
            return False
        self.checked = True
        self._reachable()
        return True

    async def start(self) -> None:
        import asyncio

        await asyncio.to_thread(self.check)  # a bad mapping stops the server from starting
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        self.reader.close()

    # --- polling ---------------------------------------------------------------------------------

    def run_once(self) -> Polled | None:
        """One pass; None when the database cannot be reached (it is said once, and retried)."""
        try:
            if not self.checked and not self.check():
                return None
            polled = self._scan() if not self.scanned else self._poll()
        except (OperationalError, DBAPIError) as exc:
            self._unreachable(exc)
            return None
        except BadMapping as exc:  # e.g. the table was dropped or altered under it
            if self.problem != str(exc):
                log.error("%s", exc)
            self.problem = str(exc)
            self.checked = False
            return None
        self._reachable()
        return polled

    def _scan(self) -> Polled:
        """The first read: the whole table in pages by id (one page a pass)."""
        page = self.reader.rows_after_id(self.scanned_to)
        polled = self._record(page, seen_ids=None)
        if page:
            self.scanned_to = page[-1]["id"]
        if len(page) < PAGE_ROWS:
            self.scanned = True
        return polled

    def _poll(self) -> Polled:
        since = self.marks[0] if self.marks else None
        found = self.reader.rows_since(since) if since is not None else []
        ids = {row["id"] for row in found}
        missing = [row_id for row_id in self.open if row_id not in ids]
        if missing:
            again = self.reader.rows_by_id(missing)
            found += again
            ids |= {row["id"] for row in again}
        polled = self._record(found, seen_ids=ids)
        gone = [row_id for row_id in missing if row_id not in ids]
        for row_id in gone:
            self.open.discard(row_id)
            log.info(
                "source table %s: row %s was deleted; its run stays as it was last seen",
                self.table,
                row_id,
            )
        polled.gone = len(gone)
        polled.open_rows = len(self.open)
        return polled

    def _record(self, found: list[dict[str, Any]], seen_ids: set[Any] | None) -> Polled:
        now = datetime.now(UTC)
        events: list[Event] = []
        opened: set[Any] = set()
        closed: set[Any] = set()
        latest = self.marks[-1] if self.marks else None
        polled = Polled(rows=len(found))
        for row in found:
            try:
                events += table_rows.events_of(row, self.table, self.mapping, now)
            except (table_rows.BadRow, ValueError) as exc:
                polled.skipped += 1
                self._report(row.get("id"), str(exc))
                continue
            (opened if table_rows.is_open(row, self.mapping) else closed).add(row["id"])
            time = table_rows.latest_time(row)
            if time is not None:
                with contextlib.suppress(TypeError):  # times of mixed kinds: keep the first kind
                    latest = time if latest is None or time > latest else latest
        if events:
            polled.runs_changed = self.recorder.record(events).runs_changed
        # Only once recorded: a pass that fails is read again whole.
        self.open = (self.open - closed) | opened
        self.marks.append(latest)
        polled.open_rows = len(self.open)
        return polled

    # --- saying what is wrong, once --------------------------------------------------------------

    def _report(self, row_id: Any, problem: str) -> None:
        key = (row_id, problem)
        if key not in self._reported:
            self._reported.add(key)
            log.error("source table %s: row %s is not read as a run: %s", self.table, row_id, problem)

    def _unreachable(self, exc: BaseException) -> None:
        reason = short_reason(exc)
        if self.unreachable_since is None:
            self.unreachable_since = datetime.now(UTC)
            log.warning(
                "source table %s: unreachable since %s: %s; trying again every %g s",
                self.reader.where,
                self.unreachable_since.strftime("%H:%M:%S"),
                reason,
                self.every_s,
            )
        self.problem = reason

    def _reachable(self) -> None:
        if self.unreachable_since is not None:
            log.warning("source table %s: reachable again", self.reader.where)
        self.unreachable_since = None
        self.problem = None


def loops(recorder: Recorder, settings: Settings) -> list[TableSource]:
    """A source per `source_tables` entry; BadMapping for a target or mapping file that is wrong."""
    return [
        TableSource(target, recorder, settings.source_poll_s, settings.source_map)
        for target in settings.source_tables
    ]


def check_targets(settings: Settings) -> list[str]:
    """Check every source table before serving: BadMapping for a target, mapping file, column or
    status word that does not fit; the returned notes say which databases cannot be reached now."""
    notes = []
    for target in settings.source_tables:
        url, table = split_target(target)
        reader = TableReader(url, table, table_mapping.load(settings.source_map, table))
        try:
            reader.check()
        except (OperationalError, DBAPIError) as exc:
            notes.append(
                f"source table {reader.where} cannot be reached now ({short_reason(exc)}); read once it can"
            )
        finally:
            reader.close()
    return notes
