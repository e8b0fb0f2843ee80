"""The scheduler loop: fire due schedules exactly once, start queued firings, follow other jobs'
successes, restart firings a dead scheduler claimed, and sweep for lost runs.

One step is `run_once()` (tests drive it with a controlled clock); the loop around it sleeps until
the next schedule is due, or until it is woken (a schedule changed, a run was recorded). A firing is
claimed in the transaction that advances its schedule: the firing row (unique per schedule and
time), the schedule's next time and the run's first event commit together or not at all. Its run is
started after the commit; a firing left `pending` by a scheduler killed in between is started by
whichever scheduler sees it next, after a lease.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from jobdeck.domain import EventKind, Status
from jobdeck.events import Event, make_event
from jobdeck.executors import Refusal, Refused
from jobdeck.recorder import Recorded, Recorder, record_events
from jobdeck.scheduler import launch
from jobdeck.scheduler.plan import plan
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.store import Store
from jobdeck.store import runs as run_rows
from jobdeck.store import schedules as rows

log = logging.getLogger(__name__)

BATCH = 200  # schedules claimed per transaction
# A schedule made or changed by another process (an API replica) is seen when the loop wakes: it
# sleeps until the next due time, and never longer than this.
MAX_SLEEP_S = 5.0
LEASE_S = 30.0  # a firing claimed longer ago than this and not started is started by anyone
STOP_WAIT_S = 10.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Pass:
    """What one step did."""

    fired: int = 0
    skipped: int = 0
    queued: int = 0
    refused: int = 0
    dequeued: int = 0
    recovered: int = 0
    lost: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (self.fired, self.skipped, self.queued, self.refused, self.dequeued, self.recovered, self.lost)
        )


@dataclass(frozen=True)
class Fired:
    """A firing claimed now whose run this scheduler starts after the commit."""

    firing_id: int
    run_id: str
    schedule_id: str
    spec: ScheduleSpec
    at: datetime  # the time it was scheduled for


@dataclass
class Claims:
    """What a transaction claimed: the runs' first events and the runs to start after it commits."""

    events: list[Event] = field(default_factory=list)
    started: list[Fired] = field(default_factory=list)


class Scheduler:
    """Fires schedules from a store (a `services.Loop`: start, stop, run_once)."""

    name = "scheduler"

    def __init__(
        self,
        store: Store,
        recorder: Recorder,
        launcher: launch.Launcher | None = None,
        *,
        clock: Clock = utc_now,
        sweep: Callable[[datetime], list[str]] | None = None,
        sweep_every_s: float = 30.0,
        batch: int = BATCH,
        max_sleep_s: float = MAX_SLEEP_S,
    ) -> None:
        self.store, self.recorder = store, recorder
        self.launcher = launcher or launch.Launcher(recorder.record)
        self.clock, self.batch, self.max_sleep_s = clock, batch, max_sleep_s
        self.sweep, self.sweep_every_s = sweep, sweep_every_s
        self.last_sweep_at: datetime | None = None
        self.last_pass_at: datetime | None = None
        self.lag_s: float | None = None  # how late the last schedule fired, for the health check
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._follows = False

    # --- one step --------------------------------------------------------------------------------

    def run_once(self) -> Pass:
        """Fire what is due, start what waited, and sweep when it is time; returns what it did."""
        now = self.clock()
        done = Pass()
        # One read says which steps have work, so an idle pass takes no write lock.
        with self.store.read() as conn:
            work = rows.work(conn, now, now - timedelta(seconds=LEASE_S))
        self._follows = work.following
        if work.due:
            self._fire_due(now, done)
        if work.following:
            self._follow(now, done)
        if work.queued:
            self._dequeue(now, done)
        if work.stale_pending:
            self._recover(now, done)
        if self.sweep is not None and (
            self.last_sweep_at is None or (now - self.last_sweep_at).total_seconds() >= self.sweep_every_s
        ):
            done.lost = self.sweep(now)
            self.last_sweep_at = now
        self.last_pass_at = now
        return done

    def fire_now(self, schedule_id: str) -> Fired | None:
        """Fire a schedule now, whatever its times and overlap policy (the page's and API's "run now");
        None when there is no such schedule. Raises Refused when its target cannot be started."""
        now = self.clock()
        claims = Claims()
        with self.recorder.write_lock, self.store.write() as conn:
            row = rows.get(conn, schedule_id)
            if row is None:
                return None
            spec = ScheduleSpec.model_validate(row["definition"])
            reason = self.launcher.why_not(spec)
            if reason is not None:
                raise Refused(Refusal(reason))
            self._claim(conn, schedule_id, spec, now, claims, detail="run now")
            recorded = record_events(conn, claims.events)
        self._told(recorded)
        self._start(claims.started, Pass())
        self.wake()
        return claims.started[0] if claims.started else None

    def _fire_due(self, now: datetime, done: Pass) -> None:
        while True:
            now = max(now, self.clock())  # a later batch is claimed later: its firings say so
            claims = Claims()
            with self.recorder.write_lock, self.store.write() as conn:
                due = rows.due(conn, now, self.batch)
                steps = [self._fire_schedule(conn, row, now, claims, done) for row in due]
                rows.advance(conn, steps)
                recorded = record_events(conn, claims.events)
            self._told(recorded)
            self._start(claims.started, done)
            if len(due) < self.batch:
                return

    def _fire_schedule(
        self, conn: Connection, row: dict[str, Any], now: datetime, claims: Claims, done: Pass
    ) -> tuple[str, datetime | None, int]:
        """Fire a due schedule's times; its next time and count of firings, to store."""
        spec = ScheduleSpec.model_validate(row["definition"])
        trigger = spec.trigger(row["created_at"])
        if trigger is None:  # only follows another job: it has no times of its own
            return row["id"], None, row["executions"]
        step = plan(trigger, row["next_run_at"], row["executions"], now, spec.misfire, spec.misfire_grace_s)
        for at, why in step.skipped:
            if rows.add_firing(conn, row["id"], at, now, "skipped", detail=why) is not None:
                done.skipped += 1
        self._fire(conn, row["id"], spec, step.fire, now, claims, done)
        if step.fire:
            self.lag_s = (now - step.fire[-1]).total_seconds()
        return row["id"], step.next_run_at, step.executions

    def _fire(
        self,
        conn: Connection,
        schedule_id: str,
        spec: ScheduleSpec,
        times: Iterable[datetime],
        now: datetime,
        claims: Claims,
        done: Pass,
    ) -> None:
        """Record a firing for each time, by the overlap policy: a run, a skip or a place in the queue."""
        reason = self.launcher.why_not(spec)
        busy: str | None = None
        if spec.overlap != "allow":
            live = rows.live_runs(conn, schedule_id)
            if live:
                busy = f"its run {live[0]} is still live"
            elif rows.waiting(conn, schedule_id):
                busy = "an earlier firing is still waiting to start"
        for at in times:
            if reason is not None:
                if rows.add_firing(conn, schedule_id, at, now, "refused", detail=reason) is not None:
                    done.refused += 1
            elif busy is not None and spec.overlap == "skip":
                detail = f"{busy} (overlap policy: skip)"
                if rows.add_firing(conn, schedule_id, at, now, "skipped", detail=detail) is not None:
                    done.skipped += 1
            elif busy is not None and spec.overlap == "queue":
                detail = f"{busy} (overlap policy: queue)"
                if rows.add_firing(conn, schedule_id, at, now, "queued", detail=detail) is not None:
                    done.queued += 1
            elif self._claim(conn, schedule_id, spec, now, claims, at=at):
                done.fired += 1
                busy = "the run fired just before is still live"

    def _claim(
        self,
        conn: Connection,
        schedule_id: str,
        spec: ScheduleSpec,
        now: datetime,
        claims: Claims,
        at: datetime | None = None,
        detail: str | None = None,
    ) -> bool:
        """Insert a pending firing with its run's first event; False when that time has fired."""
        run_id = str(uuid.uuid4())
        at = at or now
        firing_id = rows.add_firing(conn, schedule_id, at, now, "pending", run_id=run_id, detail=detail)
        if firing_id is None:  # another scheduler fired this time first: nothing to do
            return False
        claims.events.append(launch.enqueued(run_id, schedule_id, spec, at))
        claims.started.append(Fired(firing_id, run_id, schedule_id, spec, at))
        return True

    def _follow(self, now: datetime, done: Pass) -> None:
        """Fire schedules whose `after` job has succeeded since they last looked."""
        claims = Claims()
        with self.recorder.write_lock, self.store.write() as conn:
            following = rows.following(conn)
            self._follows = bool(following)
            for row in following:
                since = row["after_cursor"] or row["created_at"]
                found = rows.successes_after(conn, row["after_job"], since, self.batch)
                if not found:
                    continue
                spec = ScheduleSpec.model_validate(row["definition"])
                times = [finished for _, finished in found]
                self._fire(conn, row["id"], spec, times, now, claims, done)
                rows.change(conn, row["id"], {"after_cursor": times[-1]})
            recorded = record_events(conn, claims.events)
        self._told(recorded)
        self._start(claims.started, done)

    def _dequeue(self, now: datetime, done: Pass) -> None:
        """Start the oldest queued firing of each schedule whose live run has ended."""
        claims = Claims()
        with self.recorder.write_lock, self.store.write() as conn:
            seen: set[str] = set()
            for firing in rows.in_state(conn, "queued", limit=self.batch):
                schedule_id = firing["schedule_id"]
                if schedule_id in seen:
                    continue
                seen.add(schedule_id)
                if rows.live_runs(conn, schedule_id) or rows.waiting(conn, schedule_id, ("pending",)):
                    continue
                row = rows.get(conn, schedule_id)
                if row is None:
                    continue
                spec = ScheduleSpec.model_validate(row["definition"])
                run_id = str(uuid.uuid4())
                if rows.move_firing(conn, firing["id"], "queued", "pending", run_id=run_id, fired_at=now):
                    claims.events.append(launch.enqueued(run_id, schedule_id, spec, firing["scheduled_at"]))
                    claims.started.append(
                        Fired(firing["id"], run_id, schedule_id, spec, firing["scheduled_at"])
                    )
                    done.dequeued += 1
            recorded = record_events(conn, claims.events)
        self._told(recorded)
        self._start(claims.started, done)

    def _recover(self, now: datetime, done: Pass) -> None:
        """Start the runs of firings that a scheduler claimed and died before starting."""
        claims = Claims()
        finished: list[int] = []
        with self.store.write() as conn:
            for firing in rows.in_state(conn, "pending", before=now - timedelta(seconds=LEASE_S)):
                run = run_rows.get_run(conn, firing["run_id"]) if firing["run_id"] else None
                if run is not None and run["status"] != Status.PENDING.value:
                    finished.append(firing["id"])  # it started: only the mark was lost
                    continue
                row = rows.get(conn, firing["schedule_id"])
                if row is None:
                    continue
                rows.change_firing_time(conn, firing["id"], now)
                spec = ScheduleSpec.model_validate(row["definition"])
                fired = Fired(
                    firing["id"], firing["run_id"], firing["schedule_id"], spec, firing["scheduled_at"]
                )
                claims.started.append(fired)
            rows.mark_firings(conn, [(firing_id, "pending", "started", None) for firing_id in finished])
        done.recovered += len(claims.started)
        self._start(claims.started, done)

    def _start(self, fired: list[Fired], done: Pass) -> None:
        """Start the claimed firings' runs, then mark each started (or refused, with why)."""
        if not fired:
            return
        outcomes: list[tuple[int, str, str | None]] = []
        failures: list[Event] = []
        for firing in fired:
            try:
                self.launcher.launch(firing.run_id, firing.spec)
                outcomes.append((firing.firing_id, "started", None))
            except Exception as exc:  # refused, or the system would not start it: on the record
                reason = str(exc) if isinstance(exc, Refused) else f"{type(exc).__name__}: {exc}"
                log.warning("schedule %s: run %s not started: %s", firing.schedule_id, firing.run_id, reason)
                outcomes.append((firing.firing_id, "refused", reason))
                fields = {"job": firing.spec.job_name, "error_type": "NotStarted", "error_message": reason}
                failures.append(make_event(firing.run_id, EventKind.FAILED, self.clock(), fields))
                done.refused += 1
        if failures:
            self.recorder.record(failures)
        with self.store.write() as conn:
            rows.mark_firings(
                conn, [(firing_id, "pending", state, detail) for firing_id, state, detail in outcomes]
            )

    def _told(self, recorded: Recorded) -> None:
        """Tell the recorder's listeners (live views) about runs recorded in a claim."""
        if recorded.runs_changed:
            for listener in self.recorder.listeners:
                listener(recorded)

    # --- the loop --------------------------------------------------------------------------------

    def wake(self) -> None:
        """Run a step now (a schedule changed)."""
        self._wake.set()

    def seconds_to_sleep(self) -> float:
        """Until the next schedule is due (at most max_sleep_s, and the next sweep)."""
        now = self.clock()
        with self.store.read() as conn:
            due = rows.next_due_at(conn)
        wait = self.max_sleep_s
        if due is not None:
            wait = min(wait, (due - now).total_seconds())
        if self.sweep is not None and self.last_sweep_at is not None:
            wait = min(wait, self.sweep_every_s - (now - self.last_sweep_at).total_seconds())
        if self._follows:
            wait = min(wait, 5.0)
        return max(0.0, wait)

    def serve(self) -> None:
        """Repeat the step until stopped, sleeping until there is something to do."""
        self.recorder.listeners.append(self._on_recorded)
        try:
            while not self._stop.is_set():
                try:
                    done = self.run_once()
                    if done:
                        log.info("scheduler: %s", done)
                    wait = self.seconds_to_sleep()
                except Exception:  # one failed step must not end the loop; the next one retries
                    log.exception("scheduler step failed")
                    wait = 1.0
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            self.recorder.listeners.remove(self._on_recorded)

    def _on_recorded(self, recorded: Recorded) -> None:
        if self._follows:  # a run that schedules follow may have succeeded
            self._wake.set()

    @property
    def running(self) -> bool:
        """True while the loop's thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start_thread(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.serve, name="jobdeck-scheduler", daemon=True)
        self._thread.start()

    def stop_thread_soon(self) -> None:
        """Ask `serve` to end after the step it is in (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def stop_thread(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
            self._thread = None

    async def start(self) -> None:
        self.start_thread()

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_thread)
