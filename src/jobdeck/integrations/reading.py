"""Reading every queue source at once, each in its own thread with a time limit.

A broker that hangs (a half-open TCP connection, a Redis stuck in a long script) must not hang the
request or the sampler that asked: each source is read in a daemon thread, and a source that has
not answered within the limit is reported unreachable ("no answer within 3 s"). While a source's
earlier read is still under way (a hung one, or another caller's), no second thread is started for
it: the caller waits for that read, within its own limit. A source that raises is reported
unreachable with its error; the others still answer. The reader remembers since when each broker
has been unreachable, so `/api/health` and the Queues page can say "unreachable since 14:02".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from jobdeck.integrations.queues import BrokerHealth, QueueSource, QueueState

READ_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What every source said (or did not say) in one read."""

    queues: list[QueueState]
    brokers: list[BrokerHealth]


def short_error(exc: BaseException) -> str:
    """An exception as one short line: `connection refused`, not a page of driver text."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for marker in ("Connection refused", "connection refused"):
        if marker in text:
            return "connection refused"
    return text[:300]


class _Read:
    """One read of one source in a daemon thread."""

    def __init__(self, source: QueueSource) -> None:
        self.source = source
        self.queues: list[QueueState] | None = None
        self.health: BrokerHealth | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"jobdeck-queues-{source.system}", daemon=True)

    def _run(self) -> None:
        try:
            self.queues = self.source.queues()
        except Exception as exc:  # any client error: the broker is reported unreachable with it
            self.error = exc
        try:
            self.health = self.source.health()
        except Exception as exc:  # health() must not raise; if it does, it is an answer too
            self.error = self.error or exc
        finally:
            self.done.set()


class QueueReader:
    """Reads sources with a time limit and keeps, per source, since when it has been unreachable."""

    def __init__(self, timeout_s: float = READ_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._pending: dict[int, _Read] = {}  # id(source) → a read still running past its limit
        self._down_since: dict[int, datetime] = {}
        self._last: tuple[float, list[int], Snapshot] | None = None  # (when, whose ids, what)

    def read(self, sources: Iterable[QueueSource], now: datetime | None = None) -> Snapshot:
        """Every source's queues and broker health; never raises."""
        sources = list(sources)
        reads: list[tuple[QueueSource, _Read]] = []
        with self._lock:
            for source in sources:
                pending = self._pending.get(id(source))
                if pending is not None and not pending.done.is_set():
                    reads.append((source, pending))
                    continue
                fresh = _Read(source)
                self._pending[id(source)] = fresh
                fresh.thread.start()
                reads.append((source, fresh))
        deadline = time.monotonic() + self.timeout_s
        queues: list[QueueState] = []
        brokers: list[BrokerHealth] = []
        for source, read in reads:
            # A read already under way (another request's, the sampler's) is waited for like a new one.
            read.done.wait(max(deadline - time.monotonic(), 0.0))
            found, health = self._outcome(source, read, now or datetime.now(UTC))
            queues.extend(found)
            brokers.append(health)
        snapshot = Snapshot(queues, brokers)
        self._last = (time.monotonic(), [id(source) for source in sources], snapshot)
        return snapshot

    def recent(self, sources: Iterable[QueueSource], max_age_s: float) -> Snapshot:
        """The last read of these sources when it is at most `max_age_s` old (the sampler reads every
        few seconds), else a new read: for answers that need not be to the second (`/api/health`)."""
        sources = list(sources)
        last = self._last
        if (
            last is not None
            and time.monotonic() - last[0] <= max_age_s
            and last[1] == [id(s) for s in sources]
        ):
            return last[2]
        return self.read(sources)

    def _outcome(
        self, source: QueueSource, read: _Read, now: datetime
    ) -> tuple[list[QueueState], BrokerHealth]:
        key = id(source)
        if not read.done.is_set():
            error = f"no answer within {self.timeout_s:g} s"
        elif read.error is not None:
            error = short_error(read.error)
        elif read.health is not None and not read.health.reachable:
            error = read.health.error or "unreachable"
        else:
            self._down_since.pop(key, None)
            assert read.health is not None
            return read.queues or [], read.health
        since = self._down_since.setdefault(key, now)
        if read.health is not None and read.health.unreachable_since is not None:
            since = min(since, read.health.unreachable_since)
        base = read.health or BrokerHealth(source.system, source.broker, reachable=False)
        return [], replace(base, reachable=False, rtt_ms=None, unreachable_since=since, error=error)


def health_json(health: BrokerHealth) -> dict[str, object]:
    """A broker's health as the API answers it."""
    return {
        "system": health.system,
        "broker": health.broker,
        "reachable": health.reachable,
        "rtt_ms": round(health.rtt_ms, 3) if health.rtt_ms is not None else None,
        "unreachable_since": health.unreachable_since.isoformat() if health.unreachable_since else None,
        "error": health.error,
    }
