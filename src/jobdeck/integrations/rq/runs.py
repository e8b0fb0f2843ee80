"""RQ jobs as runs. RQ has no event stream, so each pass reads the ids in every queue and registry
(newest first, bounded) and fetches only the jobs that are new or have moved since the last pass (the
watermark: the registry each job was last seen in). A job's hash is read with RQ's field names; its
`data` (a pickle) is never loaded: the job name is the function in its description, the error comes
from the latest result (RQ ≥ 2: a stream per job) or the hash's `exc_info`.

A job is `rq:<id>` (RQ ids are unique across queues), source "rq".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobdeck.events import Event, make_event
from jobdeck.integrations import redis_broker
from jobdeck.integrations.rq.jobs import error_of, job_name, latest_traceback, rq_time, text
from jobdeck.integrations.rq.source import REGISTRIES, RQSource

log = logging.getLogger(__name__)
SOURCE = "rq"
EVERY_S = 2.0
SCAN = 1000  # newest ids read per queue and registry each pass


def job_events(job_id: str, fields: dict[str, str], latest: dict[str, str] | None) -> list[Event]:
    """The run events one RQ job hash (and its latest result) says."""
    created = rq_time(fields.get("created_at")) or rq_time(fields.get("enqueued_at"))
    if created is None:
        return []
    run_id = f"{SOURCE}:{job_id}"
    status = fields.get("status", "")
    common: dict[str, Any] = {
        "job": job_name(fields.get("description")),
        "queue": (fields.get("origin") or "")[:200] or None,
        "source": SOURCE,
        "worker": fields.get("worker_name") or None,
    }
    enqueued = rq_time(fields.get("enqueued_at")) or created
    events = [make_event(run_id, "enqueued", enqueued, common)]
    started = rq_time(fields.get("started_at"))
    ended = rq_time(fields.get("ended_at"))
    if started is not None:
        events.append(make_event(run_id, "started", started, common))
    if status == "finished":
        events.append(make_event(run_id, "succeeded", ended or started or enqueued, common))
    elif status == "failed":
        traceback = latest_traceback(fields, latest)
        kind, message = error_of(traceback)
        failed = dict(
            common, error_type=kind, error_message=message, traceback=(traceback or "")[-200_000:] or None
        )
        events.append(make_event(run_id, "failed", ended or started or enqueued, failed))
    elif status in ("stopped", "canceled"):
        events.append(make_event(run_id, "cancelled", ended or started or enqueued, common))
    return events


@dataclass
class Polled:
    jobs: int = 0
    new: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return False  # every 2 s: not worth a log line


class RQRuns(redis_broker.RedisPoller):
    """A `services.Loop`: records the runs of RQ jobs that are new or have moved since the last pass."""

    def __init__(
        self, source: RQSource, record: Callable[[Sequence[Event]], object], every_s: float = EVERY_S
    ):
        super().__init__(f"rq runs {source.broker}", every_s)
        self.source, self.record = source, record
        self.seen: dict[str, str] = {}  # job id → where it was last seen ("queue:…" or a registry)

    def run_once(self) -> Polled | None:
        """One pass; None while Redis cannot be reached (redis_broker.RedisPoller)."""
        polled = super().run_once()
        return polled if isinstance(polled, Polled) else None

    def poll(self) -> Polled:
        polled = Polled()
        where: dict[str, str] = {}
        for queue in self.source.all_queues():
            with redis_broker.talking(self.source.broker):
                for job_id in queue.get_job_ids(0, SCAN):  # (offset, length)
                    where[job_id] = "waiting"
                for state in REGISTRIES:
                    registry = self.source.registry(queue, state)
                    for job_id in registry.get_job_ids(0, SCAN - 1, desc=True, cleanup=False):
                        where[job_id] = state
        changed = [job_id for job_id, state in where.items() if self.seen.get(job_id) != state]
        if changed:
            polled.jobs = self._record_jobs(changed)
            polled.new = changed
        self.seen = where
        return polled

    def _record_jobs(self, ids: list[str]) -> int:
        client = self.source.redis
        events: list[Event] = []
        with redis_broker.talking(self.source.broker):
            for at in range(0, len(ids), 500):
                chunk = ids[at : at + 500]
                pipe = client.pipeline(transaction=False)
                for job_id in chunk:
                    pipe.hgetall(f"rq:job:{job_id}")
                    pipe.xrevrange(f"rq:results:{job_id}", "+", "-", count=1)
                answers: Any = pipe.execute()
                for n, job_id in enumerate(chunk):
                    raw, results = answers[2 * n], answers[2 * n + 1]
                    if not raw:
                        continue
                    fields = {text(k) or "": text(v) or "" for k, v in raw.items() if k != b"data"}
                    latest = (
                        {text(k) or "": text(v) or "" for k, v in results[0][1].items()} if results else None
                    )
                    try:
                        events.extend(job_events(job_id, fields, latest))
                    except (ValueError, TypeError, ArithmeticError) as exc:  # an odd job is skipped
                        log.warning("RQ job %s skipped: %s", job_id, exc)
        if events:
            self.record(events)
        return len(ids)
