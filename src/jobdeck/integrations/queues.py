"""Queues of every job system in one shape.

`GET /api/v1/queues`, the Queues page, the queue-size samples (the `queue_size` time series) and the
broker lines of `/api/health` read queues through this interface only. Each integration (Celery,
BullMQ, RQ) gives the app one `QueueSource` per broker it reads; the app holds them in
`app.state.queue_sources` (a `QueueSources`). A source's methods block (they talk to a broker) and
are called from a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class QueueState:
    """One queue as its system counts it now."""

    name: str
    system: str  # "celery", "bullmq", "rq"
    broker: str  # the broker's URL without credentials (see `redact_url`)
    counts: dict[str, int]  # at least "waiting" and "active"; each system adds its own states
    paused: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # system-specific: schedulers, registries

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "system": self.system,
            "broker": self.broker,
            "counts": dict(self.counts),
            "paused": self.paused,
        }
        if self.details:
            body["details"] = self.details
        return body


@dataclass(frozen=True, slots=True)
class BrokerHealth:
    """Whether a broker answers, and how fast; when it does not, since when and why."""

    system: str
    broker: str
    reachable: bool
    rtt_ms: float | None = None
    unreachable_since: datetime | None = None
    error: str | None = None


@runtime_checkable
class QueueSource(Protocol):
    """The queues one broker holds for one job system."""

    system: str
    broker: str  # redacted URL

    def queues(self) -> list[QueueState]:
        """Every queue of this source, counted now; raises OSError (or the client's connection
        error) when the broker cannot be reached."""

    def health(self) -> BrokerHealth:
        """Reachability and round-trip time, measured now (never raises)."""


class QueueSources:
    """The app's queue sources, in the order they were added."""

    def __init__(self) -> None:
        self._sources: list[QueueSource] = []

    def add(self, source: QueueSource) -> None:
        self._sources.append(source)

    def __iter__(self) -> Iterator[QueueSource]:
        return iter(list(self._sources))

    def __len__(self) -> int:
        return len(self._sources)


def redact_url(url: str) -> str:
    """`redis://user:secret@host:6379/2` → `redis://host:6379/2`: a broker named without credentials."""
    parts = urlsplit(url)
    if parts.hostname is None:
        return url
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
