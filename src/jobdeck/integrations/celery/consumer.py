"""Zero-code mode: one broker's Celery event stream recorded as runs, in a background thread.

jobdeck reads a durable, named queue (`jobdeck.events` unless set) bound to Celery's event exchange,
asks the workers to send events (`enable_events`, at start and every 30 s, so workers started later
are covered; workers need no `-E`), and records the events in batches (every 0.5 s or 500 events)
through the recorder. On RabbitMQ the queue outlives jobdeck (messages are acknowledged only once
recorded), bounded by `x-message-ttl` and `x-max-length`; Celery sends events over Redis with
PUBLISH (its event exchange is a fanout there), which keeps nothing for a listener that is away (see
docs/celery.md). A broker that cannot be reached is retried with a growing pause; what the consumer
sees shows in `/api/health`. Malformed events are counted and logged, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from jobdeck.domain import EventKind
from jobdeck.events import Event, make_event
from jobdeck.integrations.celery import mapping
from jobdeck.integrations.celery.workers import WorkerBook
from jobdeck.integrations.queues import redact_url
from jobdeck.recorder import Recorder
from jobdeck.scheduler.safety import REASON_LABEL
from jobdeck.store import Store, schema

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.5
FLUSH_EVENTS = 500
# Task id → name, for events that do not name the task (a cache: a task it no longer holds is
# looked up in the store). 100,000 held 23 MB, the larger part of the consumer's growth to 161 MB at
# 100,000 tasks (bench/celery_throughput.py); 10,000 covers the tasks between a received and an end.
KNOWN_JOBS = 10_000
BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class QueueBounds:
    name: str = "jobdeck.events"
    ttl_s: float = 86400.0
    max_length: int = 1_000_000


class ConsumerHealth:
    """What the consumer knows of its broker, for /api/health (thread-safe enough: plain fields)."""

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self.connected = False
        self.since: datetime | None = None
        self.error: str | None = None
        self.events = 0
        self.recorded = 0
        self.malformed = 0
        self.unknown_runs = 0
        self.unknown_events = 0
        self.last_event_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "broker": self.broker,
            "connected": self.connected,
            "since": self.since.isoformat() if self.since else None,
            "error": self.error,
            "events": self.events,
            "recorded": self.recorded,
            "malformed": self.malformed,
            "unknown_runs": self.unknown_runs,
            "unknown_events": self.unknown_events,
            "last_event_at": self.last_event_at.isoformat() if self.last_event_at else None,
        }

    def state(self, connected: bool, error: str | None = None) -> None:
        if connected != self.connected or self.since is None:
            self.since = datetime.now(UTC)
        self.connected, self.error = connected, error


class EventConsumer:
    """The Service of one broker's event stream (services.py)."""

    def __init__(
        self,
        url: str,
        store: Store,
        recorder: Recorder,
        bounds: QueueBounds | None = None,
        enable_events_s: float = 30.0,
        lost_grace_s: float = 60.0,
    ) -> None:
        self.url = url
        self.broker = redact_url(url)
        self.name = f"celery events {self.broker}"
        self.store = store
        self.recorder = recorder
        self.bounds = bounds or QueueBounds()
        self.enable_events_s = enable_events_s
        self.lost_grace_s = lost_grace_s
        self.workers = WorkerBook(self.broker)
        self.health = ConsumerHealth(self.broker)
        self._jobs: OrderedDict[str, str] = OrderedDict()
        self._pending: list[tuple[Any, Any]] = []  # (body, message to ack once recorded)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_flush = time.monotonic()
        self._ask_now = False  # a worker new here: ask for events now, not at the next round
        self._seeded = False
        self._unknown_kinds: set[str] = set()
        # Whether recorded messages are acknowledged: on RabbitMQ yes; on Redis the events come by
        # PUBLISH with nothing to acknowledge, and kombu's ack there is a MULTI/EXEC round trip a
        # message (bench/celery_throughput.py: most of the consumer's time at 2,000 events/s).
        self.acks = True

    # --- the Service -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 15)
            self._thread = None

    # --- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._consume()
                failures = 0
            except Exception as exc:  # the broker went away, or refused: try again after a pause
                pause = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                self.health.state(
                    False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                )
                log.warning(
                    "celery events from %s: %s; again in %.1f s", self.broker, self.health.error, pause
                )
                self._pending.clear()  # unacknowledged: the broker gives them again
                self._stop.wait(pause)

    def _consume(self) -> None:
        from celery import Celery

        app = Celery(broker=self.url, set_as_current=False)
        try:
            self._consume_with(app)
        finally:
            app.close()

    def _consume_with(self, app: Any) -> None:
        from celery.events.event import get_exchange
        from kombu import Connection, Consumer, Queue

        with Connection(self.url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            redis = conn.transport.driver_type == "redis"
            self.acks = not redis
            arguments = (
                {}
                if redis
                else {"x-message-ttl": int(self.bounds.ttl_s * 1000), "x-max-length": self.bounds.max_length}
            )
            queue = Queue(
                self.bounds.name,
                exchange=get_exchange(conn),
                routing_key="#",
                durable=True,
                auto_delete=False,
                queue_arguments=arguments,
            )
            channel = conn.channel()
            consumer = Consumer(
                channel, queues=[queue], callbacks=[self._on_message], accept=["json"], no_ack=redis
            )
            if not redis:
                consumer.qos(prefetch_count=FLUSH_EVENTS * 4)
            with consumer:
                self.health.state(True)
                if not self._seeded:
                    self.seed_running(datetime.now(UTC))
                log.info("recording celery events from %s (queue %s)", self.broker, self.bounds.name)
                asked = -float("inf")
                while not self._stop.is_set():
                    now = time.monotonic()
                    if self._ask_now or now - asked >= self.enable_events_s:
                        self._ask_now = False
                        self._enable_events(app)
                        asked = now
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        conn.heartbeat_check()
                    if (
                        len(self._pending) >= FLUSH_EVENTS
                        or time.monotonic() - self._last_flush >= FLUSH_EVERY_S
                    ):
                        self.flush()
                        self.mark_lost(datetime.now(UTC))
                self.flush()

    def _enable_events(self, app: Any) -> None:
        """Ask every worker to send task events, and a heartbeat now (so they show at once)."""
        try:
            app.control.broadcast("enable_events")
            app.control.broadcast("heartbeat")
        except Exception as exc:
            log.warning("celery %s: could not ask the workers for events: %s", self.broker, exc)

    def _on_message(self, body: Any, message: Any) -> None:
        self._pending.append((body, message))

    # --- recording -------------------------------------------------------------------------------

    def flush(self) -> int:
        """Record what came since the last flush (then acknowledge it); the events recorded."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return 0
        pending, self._pending = self._pending, []
        bodies: list[Any] = []
        for body, _ in pending:
            bodies.extend(body if isinstance(body, list) else [body])
        events = self.to_events(bodies)
        if events:
            self.recorder.record(events)  # a store that fails raises: nothing is acknowledged
            self.health.recorded += len(events)
        for _, message in pending if self.acks else ():
            if (
                message is not None
                and not message.acknowledged
                and message.delivery_info.get("no_ack") is not True
            ):
                try:
                    message.ack()
                except Exception:
                    log.debug("ack failed", exc_info=True)
        return len(events)

    def to_events(self, bodies: Sequence[Any]) -> list[Event]:
        """jobdeck's events of a batch of Celery events (worker events go to the worker book;
        malformed ones are counted and logged)."""
        self.health.events += len(bodies)
        tasks: list[Mapping[str, Any]] = []
        named: dict[str, str] = {}  # this batch's names (held here too: the cache may drop them)
        for body in bodies:
            try:
                kind = mapping.event_type(body)
                if kind in mapping.WORKER_EVENTS:
                    if self.workers.worker_event(body, mapping.timestamp(body)):
                        self._ask_now = True
                elif kind in mapping.KIND_OF_TASK_EVENT:
                    tasks.append(body)
                    name = body.get("name")
                    uuid = body.get("uuid")
                    if isinstance(name, str) and name and isinstance(uuid, str):
                        named[uuid] = self._remember(uuid, name[:200])
                else:  # custom events and any Celery adds later: not runs, counted
                    self.health.unknown_events += 1
                    if kind not in self._unknown_kinds and len(self._unknown_kinds) < 100:
                        self._unknown_kinds.add(kind)
                        log.info("celery %s: events of type %.100r are not recorded", self.broker, kind)
            except (mapping.Malformed, ValueError, TypeError) as exc:
                self._malformed(body, exc)
        for run_id in {str(b.get("uuid")) for b in tasks} - named.keys():
            if run_id in self._jobs:
                named[run_id] = self._jobs[run_id]
        named.update(self._look_up_jobs({str(b.get("uuid")) for b in tasks} - named.keys()))
        events = []
        for body in tasks:
            try:
                instrumented = self.workers.instrumented(body.get("hostname"))
                job = named.get(str(body.get("uuid")))
                event = mapping.task_event(body, job, instrumented, self.broker)
            except (mapping.Malformed, ValueError, TypeError) as exc:
                self._malformed(body, exc)
                continue
            if "job" not in event.data:
                self.health.unknown_runs += 1
                log.info(
                    "celery %s: %s of task %s, never seen received: left out",
                    self.broker,
                    body.get("type"),
                    event.run_id,
                )
                continue
            self._track(event)
            events.append(event)
        if bodies:
            self.health.last_event_at = datetime.now(UTC)
        return events

    def _track(self, event: Event) -> None:
        worker = event.data.get("worker")
        if event.kind in (EventKind.STARTED, EventKind.HEARTBEAT) and worker:
            self.workers.task_started(worker, event.run_id)
        elif event.kind is not EventKind.ENQUEUED:
            self.workers.task_ended(worker, event.run_id)

    def _malformed(self, body: Any, exc: Exception) -> None:
        self.health.malformed += 1
        log.warning("celery %s: malformed event left out (%s): %.300r", self.broker, exc, body)

    def _remember(self, run_id: str, job: str) -> str:
        job = self._jobs[run_id] = sys.intern(job)  # a few names, held once each
        self._jobs.move_to_end(run_id)
        while len(self._jobs) > KNOWN_JOBS:
            self._jobs.popitem(last=False)
        return job

    def _look_up_jobs(self, run_ids: set[str]) -> dict[str, str]:
        """Names of tasks seen before this process, or no longer in its cache (from the stored runs)."""
        if not run_ids:
            return {}
        runs = schema.runs
        with self.store.read() as conn:
            rows = conn.execute(
                select(runs.c.run_id, runs.c.job).where(runs.c.run_id.in_(sorted(run_ids)))
            ).all()
        return {run_id: self._remember(run_id, job) for run_id, job in rows}

    # --- workers gone ----------------------------------------------------------------------------

    def seed_running(self, now: datetime) -> None:
        """Runs this broker's workers were running when jobdeck last saw them: their workers are taken
        as heard from now, so a worker that died while jobdeck was away has them marked lost too.
        Only runs that came through this broker (its `celery.broker` label): not another broker's,
        nor Celery-like runs other sources recorded (the demo's synthetic workload)."""
        runs = schema.runs
        with self.store.read() as conn:
            rows = conn.execute(
                select(runs.c.run_id, runs.c.job, runs.c.worker, runs.c.labels).where(
                    runs.c.source == mapping.SOURCE,
                    runs.c.status == "running",
                    runs.c.worker.is_not(None),
                )
            ).all()
        for run_id, job, worker, labels in rows:
            if not isinstance(labels, dict) or labels.get("celery.broker") != self.broker:
                continue
            self._remember(run_id, job)
            self.workers.task_started(worker, run_id, heard_at=now)
        self._seeded = True

    def mark_lost(self, now: datetime) -> list[str]:
        """Runs of workers gone longer than the grace period, still running: marked `lost`."""
        due = self.workers.due_lost(now, self.lost_grace_s)
        if not due:
            return []
        runs = schema.runs
        events: list[Event] = []
        for worker, running, reason in due:
            with self.store.read() as conn:
                rows = conn.execute(
                    select(runs.c.run_id, runs.c.job).where(
                        runs.c.worker == worker,
                        runs.c.source == mapping.SOURCE,
                        runs.c.status.in_(("running", "retrying")),
                    )
                ).all()
            found = {run_id: job for run_id, job in rows}
            for run_id in running - set(found):
                if run_id in self._jobs:
                    found[run_id] = self._jobs[run_id]
            for run_id, job in found.items():
                events.append(
                    make_event(run_id, EventKind.LOST, now, {"job": job, "labels": {REASON_LABEL: reason}})
                )
            log.warning("celery %s: %s; %d running task(s) marked lost", self.broker, reason, len(found))
        if events:
            self.recorder.record(events)
        return [event.run_id for event in events]
