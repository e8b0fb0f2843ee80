"""An RQ QueueSource: every queue of one Redis with its waiting jobs and registries (started, finished,
failed, deferred, scheduled, canceled) counted by rq itself, and the workers that listen to it."""

from __future__ import annotations

from typing import Any

from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.registry import (
    BaseRegistry,
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.suspension import is_suspended

from jobdeck.integrations import redis_broker
from jobdeck.integrations.queues import BrokerHealth, QueueState, redact_url
from jobdeck.integrations.rq.jobs import error_of, job_name, latest_traceback, rq_time, text

SYSTEM = "rq"
FAILED_SHOWN = 10
REGISTRIES: dict[str, type[BaseRegistry]] = {
    "started": StartedJobRegistry,
    "finished": FinishedJobRegistry,
    "failed": FailedJobRegistry,
    "deferred": DeferredJobRegistry,
    "scheduled": ScheduledJobRegistry,
    "canceled": CanceledJobRegistry,
}


class RQSource:
    """The RQ queues of one Redis (`redis://host:6379/0`)."""

    system = SYSTEM

    def __init__(self, url: str) -> None:
        self.url = url
        self.broker = redact_url(url)
        self.redis = redis_broker.client(url)
        self._health = redis_broker.Health(SYSTEM, self.broker, self.redis)

    def all_queues(self) -> list[Queue]:
        with redis_broker.talking(self.broker):
            return sorted(Queue.all(connection=self.redis), key=lambda q: q.name)

    def registry(self, queue: Queue, state: str) -> BaseRegistry:
        return REGISTRIES[state](queue=queue)

    def counts(self, queue: Queue) -> dict[str, int]:
        """The queue's waiting jobs and each registry's size, as rq counts them (without its cleanup,
        which would change them: jobdeck only reads)."""
        with redis_broker.talking(self.broker):
            counts = {"waiting": int(queue.count)}
            for state in REGISTRIES:
                counts[state] = int(self.registry(queue, state).get_job_count(cleanup=False))
        return counts

    def failed_jobs(self, queue: Queue, limit: int = FAILED_SHOWN) -> list[dict[str, Any]]:
        """A queue's latest failed jobs, newest first: id, function, reason (the traceback's last line)."""
        registry = FailedJobRegistry(queue=queue)
        with redis_broker.talking(self.broker):
            ids = registry.get_job_ids(0, limit - 1, desc=True, cleanup=False)
            pipe = self.redis.pipeline(transaction=False)
            for job_id in ids:
                pipe.hmget(f"rq:job:{job_id}", ["description", "ended_at", "exc_info"])
                pipe.xrevrange(f"rq:results:{job_id}", "+", "-", count=1)
            answers: Any = pipe.execute() if ids else []
        found = []
        for n, job_id in enumerate(ids):
            (description, ended, exc_info), results = answers[2 * n], answers[2 * n + 1]
            fields = {"exc_info": text(exc_info) or ""}
            latest = {text(k) or "": text(v) or "" for k, v in results[0][1].items()} if results else None
            kind, message = error_of(latest_traceback(fields, latest))
            ended_at = rq_time(text(ended))
            found.append(
                {
                    "id": job_id,
                    "name": job_name(text(description)),
                    "reason": ": ".join(part for part in (kind, message) if part) or None,
                    "failed_at": ended_at.isoformat() if ended_at else None,
                }
            )
        return found

    def workers(self) -> list[Any]:
        with redis_broker.talking(self.broker):
            return list(Worker.all(connection=self.redis))

    def queues(self) -> list[QueueState]:
        queues = self.all_queues()
        workers = self.workers()
        with redis_broker.talking(self.broker):
            suspended = bool(is_suspended(self.redis))
        states = []
        for queue in queues:
            listening = [w for w in workers if queue.name in w.queue_names()]
            details: dict[str, Any] = {
                "workers": [
                    {"name": w.name, "state": str(w.get_state()), "current_job": w.get_current_job_id()}
                    for w in listening
                ]
            }
            if not listening:
                details = {}
            counts = self.counts(queue)
            if counts["failed"]:
                details["failed_jobs"] = self.failed_jobs(queue)
            states.append(QueueState(queue.name, SYSTEM, self.broker, counts, suspended, details))
        return states

    def health(self) -> BrokerHealth:
        return self._health.check()

    def act(self, action: str, queue: str, job_id: str) -> str:
        """Requeue a failed job (FailedJobRegistry.requeue); LookupError / ValueError when it cannot be."""
        if action != "requeue":
            raise ValueError(f"RQ jobs can be requeued, not {action!r}")
        with redis_broker.talking(self.broker):
            registry = FailedJobRegistry(queue, connection=self.redis)
            try:
                registry.requeue(job_id)
            except NoSuchJobError:
                raise LookupError(f"no job {job_id} in RQ") from None
            except InvalidJobOperation:
                raise ValueError(f"job {job_id} is not in the failed registry of RQ queue {queue}") from None
        return f"job {job_id} requeued on {queue}"

    def close(self) -> None:
        self.redis.close()
