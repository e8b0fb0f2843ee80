"""The Celery integration in an app: one event consumer (a background service), one inspector and
one queue source per configured broker, and the workers they describe together."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobdeck.config import Settings
from jobdeck.integrations.celery.consumer import EventConsumer, QueueBounds
from jobdeck.integrations.celery.inspection import Inspector
from jobdeck.integrations.queues import QueueSources
from jobdeck.recorder import Recorder
from jobdeck.services import Services
from jobdeck.store import Store


class Celery:
    """Every configured broker's consumer and inspector (`app.state.celery`)."""

    def __init__(self, consumers: list[EventConsumer], inspectors: list[Inspector]) -> None:
        self.consumers = consumers
        self.inspectors = inspectors

    def health(self) -> list[dict[str, Any]]:
        return [consumer.health.as_json() for consumer in self.consumers]

    def workers(self, inspect: bool = True) -> list[dict[str, Any]]:
        """Every worker of every broker: what the events say, with what a (cached) broadcast adds."""
        now = datetime.now(UTC)
        found: list[dict[str, Any]] = []
        for consumer, inspector in zip(self.consumers, self.inspectors, strict=True):
            workers = consumer.workers.snapshot(now)
            replies = (
                inspector.replies(sum(w["online"] for w in workers))
                if inspect and consumer.health.connected
                else {}
            )
            by_name = {w["name"]: w for w in workers}
            for method_replies in replies.values():
                for name in method_replies:
                    if name not in by_name:
                        by_name[name] = {
                            "name": name,
                            "broker": consumer.broker,
                            "online": True,
                            "last_heartbeat": None,
                        }
            for name, worker in sorted(by_name.items()):
                found.append(with_inspection(worker, replies, name))
        return found


def with_inspection(worker: dict[str, Any], replies: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """A worker's entry with its broadcast replies folded in (pool, concurrency, queues, tasks)."""
    stats = replies.get("stats", {}).get(name) or {}
    pool = stats.get("pool") or {}
    worker = dict(worker)
    worker["pool"] = _pool_name(pool.get("implementation"))
    worker["concurrency"] = pool.get("max-concurrency")
    if stats.get("total") is not None and not worker.get("processed"):
        worker["processed"] = sum(int(v) for v in (stats.get("total") or {}).values())
    if "load" not in worker or not worker["load"]:
        worker["load"] = list(stats.get("rusage", {}).get("loadavg", []) or [])
    worker["queues"] = [
        q.get("name") for q in replies.get("active_queues", {}).get(name) or [] if isinstance(q, dict)
    ]
    worker["active_tasks"] = [_task(t) for t in replies.get("active", {}).get(name) or []]
    worker["reserved_tasks"] = [_task(t) for t in replies.get("reserved", {}).get(name) or []]
    worker["scheduled_tasks"] = [
        {**_task(s.get("request") or {}), "eta": s.get("eta"), "priority": s.get("priority")}
        for s in replies.get("scheduled", {}).get(name) or []
    ]
    worker["registered"] = sorted(
        str(t).split(" ", 1)[0] for t in replies.get("registered", {}).get(name) or []
    )
    if worker["active_tasks"] or "active" not in worker:
        worker["active"] = len(worker["active_tasks"])
    return worker


def _pool_name(implementation: object) -> str | None:
    """`celery.concurrency.prefork:TaskPool` → "prefork"."""
    if not isinstance(implementation, str):
        return None
    return implementation.rsplit(":", 1)[0].rsplit(".", 1)[-1]


def _task(task: dict[str, Any]) -> dict[str, Any]:
    started = task.get("time_start")
    delivery = task.get("delivery_info") or {}
    return {
        "run_id": task.get("id"),
        "job": task.get("name"),
        "args": task.get("args"),
        "kwargs": task.get("kwargs"),
        "queue": delivery.get("routing_key"),
        "priority": delivery.get("priority"),
        "started_at": datetime.fromtimestamp(started, UTC).isoformat()
        if isinstance(started, int | float)
        else None,
    }


def install(
    settings: Settings, store: Store, recorder: Recorder, services: Services, queue_sources: QueueSources
) -> Celery:
    """The integration for `settings.celery_brokers` (none: an empty one, and nothing imported)."""
    consumers, inspectors = [], []
    bounds = QueueBounds(
        settings.celery_event_queue, settings.celery_event_queue_ttl_s, settings.celery_event_queue_max
    )
    for url in settings.celery_brokers:
        consumer = EventConsumer(
            url,
            store,
            recorder,
            bounds=bounds,
            enable_events_s=settings.celery_enable_events_s,
            lost_grace_s=settings.celery_lost_grace_s,
        )
        services.add(consumer)
        consumers.append(consumer)
        inspectors.append(Inspector(url))
        from jobdeck.integrations.celery.queue_source import CeleryQueueSource

        queue_sources.add(CeleryQueueSource(url, consumer.workers, inspectors[-1]))
    return Celery(consumers, inspectors)
