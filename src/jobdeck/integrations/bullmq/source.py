"""A BullMQ QueueSource: every queue under one Redis prefix, counted as `Queue.getJobCounts` counts it,
with its paused state, job schedulers (pattern or interval, next run) and latest failed jobs."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from jobdeck.integrations import redis_broker
from jobdeck.integrations.bullmq import actions
from jobdeck.integrations.bullmq.keys import LISTS, STATE_KEYS, QueueKeys, split_url
from jobdeck.integrations.queues import BrokerHealth, QueueState, redact_url

log = logging.getLogger(__name__)
SYSTEM = "bullmq"
FAILED_SHOWN = 10
NAMES_TTL_S = 30.0  # how long the queue names found by a SCAN are kept


def text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def ms_time(value: bytes | str | float | None) -> datetime | None:
    """BullMQ's epoch milliseconds as a time (None when absent or not a number)."""
    if value is None:
        return None
    try:
        number = float(text(value) or "") if isinstance(value, bytes | str) else float(value)
        return datetime.fromtimestamp(number / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _glob_escape(name: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in name)


class BullMQSource:
    """The queues under one prefix of one Redis (`redis://host:6379/0#prefix`)."""

    system = SYSTEM

    def __init__(self, url: str) -> None:
        self.url, self.prefix = split_url(url)
        self.broker = redact_url(self.url) + ("" if self.prefix == "bull" else f"#{self.prefix}")
        self.redis = redis_broker.client(self.url)
        self._health = redis_broker.Health(SYSTEM, self.broker, self.redis)
        self._names: list[str] | None = None
        self._names_at = 0.0

    def keys(self, queue: str) -> QueueKeys:
        return QueueKeys(self.prefix, queue)

    def queue_names(self) -> list[str]:
        """Every queue under the prefix: those with a `meta` hash or an `id` counter. BullMQ keeps no
        list of its queues, so finding them is a SCAN of the whole keyspace (job hashes included):
        done at most every NAMES_TTL_S seconds, and the names kept in between."""
        now = time.monotonic()
        if self._names is not None and now - self._names_at < NAMES_TTL_S:
            return list(self._names)
        self._names = self._scan_names()
        self._names_at = now
        return list(self._names)

    def _scan_names(self) -> list[str]:
        with redis_broker.talking(self.broker):
            found: set[str] = set()
            head = _glob_escape(self.prefix) + ":"
            for suffix in ("meta", "id"):
                for key in self.redis.scan_iter(match=f"{head}*:{suffix}", count=1000):
                    name = text(key)[len(self.prefix) + 1 : -(len(suffix) + 1)]  # type: ignore[index]
                    if name and ":" not in name:
                        found.add(name)
        return sorted(found)

    def counts(self, queue: str) -> tuple[dict[str, int], bool]:
        """(getJobCounts of every state, paused) read in one round trip."""
        keys = self.keys(queue)
        with redis_broker.talking(self.broker):
            pipe = self.redis.pipeline(transaction=False)
            for key in STATE_KEYS.values():
                if key in LISTS:
                    pipe.llen(keys(key))
                    pipe.lindex(keys(key), -1)
                else:
                    pipe.zcard(keys(key))
            pipe.hget(keys("meta"), "paused")
            answers = pipe.execute()
        counts: dict[str, int] = {}
        at = 0
        for state, key in STATE_KEYS.items():
            n = int(answers[at])
            at += 1
            if key in LISTS:
                last = text(answers[at])
                at += 1
                # A v4 marker ("0:…") at the tail is not a job: getCounts leaves it out of wait/paused.
                if key != "active" and last is not None and last.startswith("0:"):
                    n = max(n - 1, 0)
            counts[state] = n
        return counts, answers[at] is not None

    def schedulers(self, queue: str) -> list[dict[str, Any]]:
        """Job schedulers (and legacy repeatable jobs): key, name, pattern or every, tz, next run."""
        keys = self.keys(queue)
        with redis_broker.talking(self.broker):
            entries: Any = self.redis.zrange(keys("repeat"), 0, -1, withscores=True)
            pipe = self.redis.pipeline(transaction=False)
            for member, _ in entries:
                pipe.hgetall(keys("repeat:" + text(member)))  # type: ignore[operator]
            hashes = pipe.execute() if entries else []
        found = []
        for (member, score), fields in zip(entries, hashes, strict=True):
            values = {text(k): text(v) for k, v in fields.items()}
            every = values.get("every")
            next_run = ms_time(score)
            found.append(
                {
                    "key": text(member),
                    "name": values.get("name"),
                    "pattern": values.get("pattern"),
                    "every_ms": int(float(every)) if every else None,
                    "tz": values.get("tz"),
                    "next_run": next_run.isoformat().replace("+00:00", "Z") if next_run else None,
                    "next_run_ms": int(score),
                }
            )
        return found

    def failed_jobs(self, queue: str, limit: int = FAILED_SHOWN) -> list[dict[str, Any]]:
        """The latest failed jobs with their reasons, newest first."""
        keys = self.keys(queue)
        with redis_broker.talking(self.broker):
            newest: Any = self.redis.zrevrange(keys("failed"), 0, limit - 1)
            ids = [text(i) for i in newest]
            pipe = self.redis.pipeline(transaction=False)
            for job_id in ids:
                pipe.hmget(keys.job(job_id or ""), ["name", "failedReason", "finishedOn", "atm"])
            rows = pipe.execute() if ids else []
        return [
            {
                "id": job_id,
                "name": text(name),
                "reason": text(reason),
                "failed_at": (f := ms_time(finished)) and f.isoformat(),
                "attempts_made": int(atm) if atm is not None else 0,
            }
            for job_id, (name, reason, finished, atm) in zip(ids, rows, strict=True)
        ]

    def queues(self) -> list[QueueState]:
        states = []
        for name in self.queue_names():
            try:
                states.append(self.queue(name))
            except redis_broker.UnexpectedAnswer as exc:  # one malformed queue: the others still count
                log.warning("BullMQ queue %s under %s skipped: %s", name, self.broker, exc)
        return states

    def queue(self, name: str) -> QueueState:
        """One queue counted now, with its schedulers and latest failed jobs."""
        counts, paused = self.counts(name)
        details: dict[str, Any] = {}
        schedulers = self.schedulers(name)
        if schedulers:
            details["schedulers"] = schedulers
        if counts["failed"]:
            details["failed_jobs"] = self.failed_jobs(name)
        return QueueState(name, SYSTEM, self.broker, counts, paused, details)

    def health(self) -> BrokerHealth:
        return self._health.check()

    def act(self, action: str, queue: str, job_id: str) -> str:
        """Retry or remove a failed job (actions.py); LookupError / ValueError when it cannot be."""
        if action == "retry":
            return actions.retry_failed(self.redis, self.broker, self.keys(queue), job_id)
        if action == "remove":
            return actions.remove_failed(self.redis, self.broker, self.keys(queue), job_id)
        raise ValueError(f"BullMQ jobs can be retried or removed, not {action!r}")

    def close(self) -> None:
        self.redis.close()


def connect(url: str) -> BullMQSource:
    """A source for `url`; raises ValueError for a URL that is not Redis."""
    return BullMQSource(url)
