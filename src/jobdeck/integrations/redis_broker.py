"""What the BullMQ and RQ sources share: a Redis client with short time limits, the broker's health
(one PING's round trip), and Redis' errors as OSError (so callers treat them as any unreachable broker)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

import redis
from redis.exceptions import RedisError

from jobdeck.background.periodic import Periodic
from jobdeck.integrations.queues import BrokerHealth

log = logging.getLogger(__name__)

T = TypeVar("T")
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0


class BrokerUnreachable(ConnectionError):
    """Redis could not be reached or did not answer (an OSError, as the QueueSource protocol says)."""


class UnexpectedAnswer(ValueError):
    """Redis answered with an error (a key of another type than the job system's layout says): one
    queue or job that is not what it should be, not a broker that is gone."""


def client(url: str) -> redis.Redis:
    """A client for `url` (redis:// or rediss://, with its db), answering bytes, with time limits."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=READ_TIMEOUT_S,
        health_check_interval=30,
    )


@contextmanager
def talking(broker: str) -> Iterator[None]:
    """Redis' connection errors and time-outs become BrokerUnreachable naming the broker's error."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnreachable(_reason(exc)) from exc
    except RedisError as exc:  # e.g. WRONGTYPE: an answer, though not one we can use
        raise UnexpectedAnswer(_reason(exc)) from exc


def call(broker: str, step: Callable[[], T]) -> T:
    with talking(broker):
        return step()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Connection refused" in text or "111" in text:
        return "connection refused"
    return text


class Health:
    """A broker's health, remembering since when it has been unreachable."""

    def __init__(self, system: str, broker: str, redis_client: redis.Redis) -> None:
        self.system, self.broker, self.redis = system, broker, redis_client
        self.down_since: datetime | None = None

    def check(self) -> BrokerHealth:
        started = time.perf_counter()
        try:
            self.redis.ping()
        except (RedisError, OSError) as exc:
            self.down_since = self.down_since or datetime.now(UTC)
            return BrokerHealth(
                self.system,
                self.broker,
                reachable=False,
                unreachable_since=self.down_since,
                error=_reason(exc),
            )
        self.down_since = None
        rtt_ms = (time.perf_counter() - started) * 1000
        return BrokerHealth(self.system, self.broker, reachable=True, rtt_ms=rtt_ms)


class RedisPoller(Periodic):
    """A loop reading a Redis-based system's jobs as runs (BullMQ, RQ): `poll()` is one pass; while
    Redis cannot be reached a pass answers None, said once in the log, and once when it is back."""

    def __init__(self, name: str, every_s: float) -> None:
        super().__init__(name, self.run_once, every_s)
        self._down: str | None = None  # why Redis cannot be reached, while it cannot

    def poll(self) -> object:
        raise NotImplementedError

    def run_once(self) -> object:
        try:
            polled = self.poll()
        except BrokerUnreachable as exc:
            if self._down is None:
                log.warning(
                    "%s: Redis unreachable (%s); trying again every %.0f s", self.name, exc, self.every_s
                )
            self._down = str(exc)
            return None
        if self._down is not None:
            log.warning("%s: Redis answers again", self.name)
            self._down = None
        return polled
