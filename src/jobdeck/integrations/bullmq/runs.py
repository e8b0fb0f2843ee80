"""BullMQ jobs as runs: a poll loop reads each queue's event stream from a watermark and turns every job
it names (its hash, read with BullMQ's field names) into run events; the first pass, and any pass that
finds its watermark trimmed off the stream, reads the queues' lists and sets instead (a backfill).

A job is `bullmq:<queue>:<id>`, job name = BullMQ's job name, source "bullmq". Its events: enqueued at
`timestamp` (with eta = timestamp + delay), started at `processedOn`, succeeded (returnvalue) or failed
(failedReason, the stacktrace of every attempt) at `finishedOn`, retrying while it waits in `delayed`
after a failed attempt. Folding is idempotent, so reading a job again is harmless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jobdeck.events import MAX_JSON_FIELD_CHARS, Event, make_event
from jobdeck.integrations import redis_broker
from jobdeck.integrations.bullmq.keys import QueueKeys
from jobdeck.integrations.bullmq.source import BullMQSource, ms_time, text

log = logging.getLogger(__name__)
SOURCE = "bullmq"
EVERY_S = 2.0
BACKFILL = 1000  # jobs per state read on a backfill
STREAM_BATCH = 5000
ERROR_CHARS = 10_000
TRACE_CHARS = 200_000


def _json(value: str | None, limit: int | None = None) -> Any:
    """A BullMQ JSON field: its value, the text itself when it is not JSON, None when longer than `limit`
    (a run keeps bounded args and results, as the ingest does) or nested too deep to read."""
    if value is None or (limit is not None and len(value) > limit):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value
    except RecursionError:
        return None


def job_events(queue: str, job_id: str, fields: dict[str, str], failed: bool, delayed: bool) -> list[Event]:
    """The run events one job's hash says (empty for a hash that is not a job)."""
    created = ms_time(fields.get("timestamp"))
    if created is None:
        return []
    run_id = f"{SOURCE}:{queue}:{job_id}"
    opts = _json(fields.get("opts"))
    opts = opts if isinstance(opts, dict) else {}
    data = _json(fields.get("data"), MAX_JSON_FIELD_CHARS)
    attempts = opts.get("attempts")
    attempts_made = int(fields.get("atm") or 0)
    common: dict[str, Any] = {
        "job": (fields.get("name") or "(unnamed)")[:200],
        "queue": queue[:200],
        "source": SOURCE,
        "max_retries": max(int(attempts) - 1, 0) if isinstance(attempts, int) and attempts >= 1 else None,
    }
    priority = int(fields.get("priority") or 0)
    delay = int(fields.get("delay") or 0)
    enqueued = dict(
        common,
        priority=priority or None,
        eta=created + timedelta(milliseconds=delay) if delay else None,
        kwargs=data if isinstance(data, dict) else None,
        args=[data] if data is not None and not isinstance(data, dict) else None,
    )
    if fields.get("rjk") or fields.get("jsk"):
        enqueued["schedule_id"] = (fields.get("rjk") or fields.get("jsk") or "")[:200]
    events = [make_event(run_id, "enqueued", created, enqueued)]
    attempt = max(attempts_made, 1)
    started = ms_time(fields.get("processedOn"))
    finished = ms_time(fields.get("finishedOn"))
    worker = fields.get("pb")
    if started is not None:
        events.append(make_event(run_id, "started", started, dict(common, attempt=attempt, worker=worker)))
    if finished is not None and failed:
        trace = _json(fields.get("stacktrace"))
        traceback = "\n\n".join(str(t) for t in trace if t) if isinstance(trace, list) else None
        reason = fields.get("failedReason") or ""
        events.append(
            make_event(
                run_id,
                "failed",
                finished,
                dict(
                    common,
                    attempt=attempt,
                    error_type=_error_type(traceback, reason),
                    error_message=reason[:ERROR_CHARS] or None,
                    traceback=(traceback or "")[-TRACE_CHARS:] or None,
                ),
            )
        )
    elif finished is not None:
        result = _json(fields.get("returnvalue"), MAX_JSON_FIELD_CHARS)
        events.append(make_event(run_id, "succeeded", finished, dict(common, attempt=attempt, result=result)))
    elif delayed and attempts_made > 0:
        at = started or created
        events.append(
            make_event(
                run_id,
                "retrying",
                at + timedelta(milliseconds=1),
                dict(
                    common,
                    attempt=attempt,
                    error_message=(fields.get("failedReason") or "")[:ERROR_CHARS] or None,
                ),
            )
        )
    return events


def _error_type(traceback: str | None, reason: str) -> str | None:
    """`TypeError` from a Node stack's first line `TypeError: …`; None when it names no error type."""
    first = (traceback or "").split("\n", 1)[0]
    head = first.split(":", 1)[0].strip()
    if head and head.replace(".", "").replace("_", "").isalnum() and head[0].isupper() and " " not in head:
        return head[:500]
    return None


@dataclass
class Polled:
    jobs: int = 0
    backfilled: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.backfilled)


class BullMQRuns(redis_broker.RedisPoller):
    """A `services.Loop`: each pass reads every queue's new stream entries (or backfills) and records
    the runs of the jobs they name. A Redis that is gone makes the pass fail (logged once); the next
    pass resumes from the same watermark."""

    def __init__(
        self, source: BullMQSource, record: Callable[[Sequence[Event]], object], every_s: float = EVERY_S
    ):
        super().__init__(f"bullmq runs {source.broker}", every_s)
        self.source, self.record = source, record
        self.watermarks: dict[str, str] = {}  # queue → last stream id read

    def run_once(self) -> Polled | None:
        """One pass; None while Redis cannot be reached (redis_broker.RedisPoller)."""
        polled = super().run_once()
        return polled if isinstance(polled, Polled) else None

    def poll(self) -> Polled:
        polled = Polled()
        for queue in self.source.queue_names():
            try:
                ids = self._changed(queue, polled)
                if ids:
                    polled.jobs += self._record_jobs(queue, ids)
            except redis_broker.UnexpectedAnswer as exc:  # one malformed queue: the others go on
                log.warning("BullMQ queue %s under %s skipped this pass: %s", queue, self.source.broker, exc)
        return polled

    def _changed(self, queue: str, polled: Polled) -> list[str]:
        """Ids of jobs named on the stream since the watermark, or every job held (a backfill)."""
        keys = self.source.keys(queue)
        client = self.source.redis
        with redis_broker.talking(self.source.broker):
            mark = self.watermarks.get(queue)
            if mark is not None:
                first: Any = client.xrange(keys("events"), "-", "+", count=1)
                trimmed = bool(first) and _stream_id(text(first[0][0]) or "0-0") > _stream_id(mark)
                if not trimmed:
                    ids: list[str] = []
                    while True:
                        entries: Any = client.xrange(keys("events"), f"({mark}", "+", count=STREAM_BATCH)
                        for entry_id, values in entries:
                            mark = text(entry_id) or mark
                            job_id = values.get(b"jobId")
                            if job_id is not None:
                                ids.append(text(job_id) or "")
                        if len(entries) < STREAM_BATCH:
                            break
                    self.watermarks[queue] = mark
                    return list(dict.fromkeys(i for i in ids if i))
            # A backfill: the newest stream entry is the watermark, then every job the queue holds.
            last: Any = client.xrevrange(keys("events"), "+", "-", count=1)
            self.watermarks[queue] = (text(last[0][0]) if last else None) or "0-0"
            pipe = client.pipeline(transaction=False)
            for name in ("wait", "paused", "active"):
                pipe.lrange(keys(name), 0, BACKFILL - 1)
            for name in ("completed", "failed", "delayed", "prioritized", "waiting-children"):
                pipe.zrevrange(keys(name), 0, BACKFILL - 1)
            found = [text(i) or "" for answer in pipe.execute() for i in answer]
        polled.backfilled.append(queue)
        return list(dict.fromkeys(i for i in found if i and not i.startswith("0:")))

    def _record_jobs(self, queue: str, ids: list[str]) -> int:
        keys: QueueKeys = self.source.keys(queue)
        events: list[Event] = []
        with redis_broker.talking(self.source.broker):
            for at in range(0, len(ids), 500):
                chunk = ids[at : at + 500]
                pipe = self.source.redis.pipeline(transaction=False)
                for job_id in chunk:
                    pipe.hgetall(keys.job(job_id))
                    pipe.zscore(keys("failed"), job_id)
                    pipe.zscore(keys("delayed"), job_id)
                answers = pipe.execute()
                for n, job_id in enumerate(chunk):
                    raw, failed, delayed = answers[3 * n : 3 * n + 3]
                    if not raw:
                        continue  # removed since: the run stays as last seen
                    fields = {text(k) or "": text(v) or "" for k, v in raw.items()}
                    try:
                        events.extend(
                            job_events(queue, job_id, fields, failed is not None, delayed is not None)
                        )
                    except (
                        ValueError,
                        TypeError,
                        ArithmeticError,
                    ) as exc:  # one odd job must not stop the others
                        log.warning("BullMQ job %s of %s skipped: %s", job_id, queue, exc)
        if events:
            self.record(events)
        return len(ids)


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return 0, 0
