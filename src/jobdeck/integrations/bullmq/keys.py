"""BullMQ's key layout: where a queue's lists, sets, hashes and stream live under a prefix."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PREFIX = "bull"
# getJobCounts' states, and the Redis key each is counted from.
STATE_KEYS = {
    "waiting": "wait",
    "active": "active",
    "completed": "completed",
    "failed": "failed",
    "delayed": "delayed",
    "paused": "paused",
    "prioritized": "prioritized",
    "waiting-children": "waiting-children",
}
LISTS = frozenset({"wait", "paused", "active"})


def split_url(url: str) -> tuple[str, str]:
    """`redis://h:6379/0#myprefix` → (`redis://h:6379/0`, `myprefix`); no fragment: the default prefix."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"a BullMQ source is a redis:// URL (optionally #prefix), not {url!r}")
    prefix = parts.fragment or DEFAULT_PREFIX
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, "")), prefix


@dataclass(frozen=True, slots=True)
class QueueKeys:
    prefix: str
    queue: str

    @property
    def base(self) -> str:
        """`bull:emails:` — every key of the queue starts so, and a job's hash is base + id."""
        return f"{self.prefix}:{self.queue}:"

    def __call__(self, name: str) -> str:
        return self.base + name

    def job(self, job_id: str) -> str:
        return self.base + job_id
