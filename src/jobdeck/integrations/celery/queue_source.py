"""Celery's queues as a QueueSource (integrations/queues.py): depth counted at the broker.

Redis: a queue is a list, and each priority a list of its own beside it (kombu names them
`queue` + `\\x06\\x16` + priority, priorities 0-9), all under the broker's `global_keyprefix` when one is
set (pass it in the URL's query: `redis://host/0?global_keyprefix=app:`). RabbitMQ: a passive
`queue_declare` answers the messages ready. Which queues: the `celery` default, those the workers
consume (from the cached inspect round), and any named here. "active" and "scheduled" are what the
workers hold (inspect), "waiting" what the broker holds.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jobdeck.integrations.celery.inspection import Inspector
from jobdeck.integrations.celery.workers import WorkerBook
from jobdeck.integrations.queues import BrokerHealth, QueueState, redact_url

PRIORITY_SEP = "\x06\x16"
PRIORITIES = range(10)
DEFAULT_QUEUE = "celery"
log = logging.getLogger(__name__)


def split_prefix(url: str) -> tuple[str, str]:
    """The URL without jobdeck's `global_keyprefix` query parameter, and that prefix."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = "".join(value for name, value in query if name == "global_keyprefix")
    rest = urlencode([(name, value) for name, value in query if name != "global_keyprefix"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), prefix


def redis_keys(queue: str, prefix: str = "") -> list[str]:
    """Every list a Redis queue's messages may wait in: the queue's own, and one per priority."""
    return [
        prefix + (queue if priority == 0 else f"{queue}{PRIORITY_SEP}{priority}") for priority in PRIORITIES
    ]


class CeleryQueueSource:
    """The queues one Celery broker holds."""

    system = "celery"

    def __init__(
        self,
        url: str,
        workers: WorkerBook | None = None,
        inspector: Inspector | None = None,
        queues: tuple[str, ...] = (),
    ) -> None:
        self.url, self.prefix = split_prefix(url)
        self.broker = redact_url(url)
        self.redis = urlsplit(url).scheme in ("redis", "rediss")
        self.workers = workers
        self.inspector = inspector
        self.named = queues
        self._unreachable_since: datetime | None = None

    def _held_by_workers(self) -> dict[str, dict[str, int]]:
        """{queue: {"active": n, "reserved": n, "scheduled": n}} from the cached inspect round."""
        held: dict[str, dict[str, int]] = {}
        if self.inspector is None:
            return held
        expected = sum(w["online"] for w in self.workers.snapshot()) if self.workers else 0
        replies = self.inspector.replies(expected)
        for _name, queues in replies.get("active_queues", {}).items():
            for queue in queues or []:
                held.setdefault(str(queue.get("name")), {"active": 0, "reserved": 0, "scheduled": 0})
        for state in ("active", "reserved", "scheduled"):
            for tasks in replies.get(state, {}).values():
                for task in tasks or []:
                    request = task.get("request", task) if state == "scheduled" else task
                    queue = str((request.get("delivery_info") or {}).get("routing_key") or DEFAULT_QUEUE)
                    held.setdefault(queue, {"active": 0, "reserved": 0, "scheduled": 0})[state] += 1
        return held

    def queues(self) -> list[QueueState]:
        held = self._held_by_workers()
        names = sorted({DEFAULT_QUEUE, *self.named, *held})
        waiting = self._redis_depths(names) if self.redis else self._amqp_depths(names)
        return [
            QueueState(
                name=name,
                system=self.system,
                broker=self.broker,
                counts={
                    "waiting": waiting.get(name, 0),
                    **held.get(name, {"active": 0, "reserved": 0, "scheduled": 0}),
                },
                details={"by_priority": by} if (by := waiting.get(f"{name}/priorities")) else {},
            )
            for name in names
            if name in waiting or name in held
        ]

    def _redis_depths(self, names: list[str]) -> dict[str, Any]:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=3, socket_connect_timeout=3)
        try:
            pipe = client.pipeline(transaction=False)
            for name in names:
                for key in redis_keys(name, self.prefix):
                    pipe.llen(key)
            lengths = pipe.execute()
        finally:
            client.close()
        depths: dict[str, Any] = {}
        for i, name in enumerate(names):
            counts = lengths[i * len(PRIORITIES) : (i + 1) * len(PRIORITIES)]
            depths[name] = sum(counts)
            by = {str(p): n for p, n in zip(PRIORITIES, counts, strict=True) if n}
            if len(by) > 1 or (by and "0" not in by):
                depths[f"{name}/priorities"] = by
        return depths

    def _amqp_depths(self, names: list[str]) -> dict[str, Any]:
        from kombu import Connection

        depths: dict[str, Any] = {}
        with Connection(self.url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            for name in names:
                channel = conn.channel()
                try:
                    _, messages, _ = channel.queue_declare(queue=name, passive=True)
                    depths[name] = int(messages)
                except Exception as exc:  # no such queue (the channel closes with it)
                    log.debug("celery queue %s: %s", name, exc)
                finally:
                    with contextlib.suppress(Exception):  # already closed by the broker
                        channel.close()
        return depths

    def health(self) -> BrokerHealth:
        began = time.perf_counter()
        try:
            self._ping()
        except Exception as exc:
            now = datetime.now(UTC)
            self._unreachable_since = self._unreachable_since or now
            return BrokerHealth(
                self.system,
                self.broker,
                False,
                unreachable_since=self._unreachable_since,
                error=f"{type(exc).__name__}: {exc}",
            )
        self._unreachable_since = None
        return BrokerHealth(
            self.system, self.broker, True, rtt_ms=round((time.perf_counter() - began) * 1000, 2)
        )

    def _ping(self) -> None:
        if self.redis:
            import redis

            client = redis.Redis.from_url(self.url, socket_timeout=3, socket_connect_timeout=3)
            try:
                client.ping()
            finally:
                client.close()
            return
        from kombu import Connection

        with Connection(self.url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
