"""Celery workers as their events describe them: online or not, last heartbeat, counts, load.

The consumer feeds every worker event (and the task events, for which tasks each runs) into a
`WorkerBook`; `inspect.py` adds what only a broadcast tells (pool, concurrency, queues). A worker is
offline when it said so (worker-offline) or its heartbeats stopped (3 intervals missed).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MISSED_HEARTBEATS = 3
DEFAULT_FREQ_S = 2.0
ASKS = 4  # a worker new here is asked for events at its first heartbeats


@dataclass
class WorkerState:
    name: str
    broker: str
    online: bool = True
    last_heartbeat: datetime | None = None
    offline_since: datetime | None = None
    freq_s: float = DEFAULT_FREQ_S
    processed: int = 0
    active: int = 0
    load: list[float] = field(default_factory=list)
    sw_ident: str | None = None
    sw_ver: str | None = None
    pid: int | None = None
    running: set[str] = field(default_factory=set)  # task ids started here and not finished
    lost_marked: bool = False  # this offline spell's running tasks were marked lost
    # Times still to ask it for task events, on its next heartbeats: a worker that just came up may
    # not listen to broadcasts yet (on Redis a broadcast is a PUBLISH, missed by one not subscribed).
    asks_left: int = 0
    instrumented: bool = False  # its heartbeats say jobdeck.integrations.celery.instrumentation runs in it

    def gone_since(self, now: datetime) -> datetime | None:
        """When the worker went away (it said so, or its heartbeats stopped), or None if it is here."""
        if self.offline_since is not None:
            return self.offline_since
        if self.last_heartbeat is None:
            return None
        silent_after = self.last_heartbeat + timedelta(seconds=self.freq_s * MISSED_HEARTBEATS)
        return silent_after if now > silent_after else None

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "broker": self.broker,
            "online": self.gone_since(now) is None,
            "last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat else None,
            "offline_since": (since.isoformat() if (since := self.gone_since(now)) else None),
            "heartbeat_s": self.freq_s,
            "processed": self.processed,
            "active": self.active,
            "load": self.load,
            "software": f"{self.sw_ident} {self.sw_ver}" if self.sw_ident else None,
            "pid": self.pid,
            "instrumented": self.instrumented,
        }


FORGET_AFTER = timedelta(days=1)


def _gone_long(worker: WorkerState, now: datetime) -> bool:
    since = worker.gone_since(now)
    return since is not None and now - since > FORGET_AFTER and not worker.running


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class WorkerBook:
    """Every worker one broker's events told of (thread-safe)."""

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self._workers: dict[str, WorkerState] = {}
        self._lock = threading.Lock()

    def _get(self, name: str) -> WorkerState:
        worker = self._workers.get(name)
        if worker is None:
            worker = self._workers[name] = WorkerState(name, self.broker)
        return worker

    def worker_event(self, body: Mapping[str, Any], at: datetime) -> bool:
        """Take in a worker event; True when it tells of a worker new here or back (to be asked
        for task events at once)."""
        name = body.get("hostname")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{body.get('type')}: no hostname")
        with self._lock:
            fresh = name[:200] not in self._workers
            worker = self._get(name[:200])
            if body.get("type") == "worker-offline":
                worker.online = False
                worker.offline_since = at
                worker.active = 0
                return False
            back = worker.offline_since is not None or worker.gone_since(at) is not None
            if back:
                worker.lost_marked = False
            if fresh or back or body.get("type") == "worker-online":
                worker.asks_left = ASKS
            worker.online = True
            worker.offline_since = None
            worker.last_heartbeat = at
            # The heartbeat a `heartbeat` broadcast asks for says freq=5 whatever the worker's timer:
            # only the timer's own (with its counts) tells the interval.
            if (freq := _number(body.get("freq"))) and freq > 0 and "active" in body:
                worker.freq_s = freq
            if (processed := _number(body.get("processed"))) is not None:
                worker.processed = int(processed)
            if (active := _number(body.get("active"))) is not None:
                worker.active = int(active)
            load = body.get("loadavg")
            if isinstance(load, list | tuple):
                worker.load = [round(float(x), 2) for x in load if _number(x) is not None][:3]
            worker.sw_ident = str(body.get("sw_ident") or "")[:100] or worker.sw_ident
            worker.sw_ver = str(body.get("sw_ver") or "")[:50] or worker.sw_ver
            if (pid := _number(body.get("pid"))) is not None:
                worker.pid = int(pid)
            worker.instrumented = body.get("jobdeck") == "instrumented"
            if worker.asks_left > 0:
                worker.asks_left -= 1
                return True
            return False

    def instrumented(self, name: object) -> bool:
        with self._lock:
            worker = self._workers.get(name) if isinstance(name, str) else None
            return worker is not None and worker.instrumented

    def task_started(self, worker: str, run_id: str, heard_at: datetime | None = None) -> None:
        """`run_id` runs on `worker` (`heard_at`: a worker not heard from yet counts as heard then)."""
        with self._lock:
            state = self._get(worker)
            state.running.add(run_id)
            if heard_at is not None and state.last_heartbeat is None:
                state.last_heartbeat = heard_at

    def task_ended(self, worker: str | None, run_id: str) -> None:
        with self._lock:
            if worker is not None and worker in self._workers:
                self._workers[worker].running.discard(run_id)
                return
            for state in self._workers.values():
                state.running.discard(run_id)

    def due_lost(self, now: datetime, grace_s: float) -> list[tuple[str, set[str], str]]:
        """Workers gone longer than the grace whose running tasks are not marked yet: (worker, the
        task ids it was running as far as the events tell, why); each spell is returned once."""
        due = []
        with self._lock:
            for worker in self._workers.values():
                since = worker.gone_since(now)
                if since is None or worker.lost_marked or now - since < timedelta(seconds=grace_s):
                    continue
                worker.lost_marked = True
                how = "said worker-offline" if worker.offline_since else "stopped sending heartbeats"
                reason = f"celery worker {worker.name} {how} at {since.isoformat(timespec='seconds')}"
                due.append((worker.name, set(worker.running), reason))
                worker.running.clear()
        return due

    def snapshot(self, now: datetime | None = None) -> list[dict[str, Any]]:
        now = now or datetime.now(UTC)
        with self._lock:
            # Workers gone for a day are forgotten (autoscaled hosts would otherwise pile up).
            for name in [n for n, w in self._workers.items() if _gone_long(w, now)]:
                del self._workers[name]
            return [w.as_json(now) for w in sorted(self._workers.values(), key=lambda w: w.name)]
