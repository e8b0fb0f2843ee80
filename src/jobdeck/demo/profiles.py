"""The demo's jobs: when they run, where, how long they take, how often and how they fail.

Modelled on real systems: a clip site's periodic maintenance (hot and trending scores, Twitch clip
sync, reputation, webhook retries, embeddings) and a shop's inventory and product syncs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Worker:
    """A Celery worker: its node name, host and the queues it consumes."""

    name: str
    host: str
    queues: tuple[str, ...]


WORKERS = (
    Worker("celery@worker-1", "worker-1", ("default", "scores", "webhooks")),
    Worker("celery@worker-2", "worker-2", ("sync", "default", "webhooks")),
    Worker("celery@worker-3", "worker-3", ("ml", "sync", "scores")),
)


@dataclass(frozen=True)
class JobProfile:
    """How one job behaves.

    A job gets a chance to run once per `every`: scheduled jobs always take it (at the slot's start,
    as Celery beat sends them); event-driven ones take it with probability `chance` at a random moment
    in the slot. Durations are log-normal around `median_s` with spread `sigma`.
    """

    name: str
    queue: str
    every: timedelta
    median_s: float
    sigma: float
    failure_rate: float
    items_median: int
    chance: float = 1.0
    priority: int = 5
    # Queue wait: log-normal around this median (seconds).
    wait_median_s: float = 0.4
    item_failure_rate: float = 0.0
    item_skip_rate: float = 0.0
    # A failed run is retried as a new run (parent_run_id) this often, up to max_retries.
    retry_rate: float = 0.5
    max_retries: int = 3
    # Celery retries under the same task id (retrying, then started again) this often.
    inline_retry_rate: float = 0.0
    # A run gets stuck (very long, heartbeats stop) this often.
    stuck_rate: float = 0.0
    time_limit_s: int = 3600
    # The system the job belongs to (a label on its runs).
    app: str = "clipper"

    @property
    def scheduled(self) -> bool:
        return self.chance >= 1.0


PROFILES: tuple[JobProfile, ...] = (
    JobProfile(
        "hot_score_refresh",
        queue="scores",
        every=timedelta(minutes=5),
        median_s=14.0,
        sigma=0.35,
        failure_rate=0.01,
        items_median=4200,
        priority=6,
    ),
    JobProfile(
        "trending_score_refresh",
        queue="scores",
        every=timedelta(hours=1),
        median_s=95.0,
        sigma=0.4,
        failure_rate=0.03,
        items_median=38_000,
        priority=5,
    ),
    JobProfile(
        "clip_sync",
        queue="sync",
        every=timedelta(minutes=15),
        median_s=300.0,
        sigma=0.55,
        failure_rate=0.08,
        items_median=900,
        item_skip_rate=0.15,
        item_failure_rate=0.01,
        inline_retry_rate=0.06,
        stuck_rate=0.01,
        time_limit_s=5400,
        priority=4,
    ),
    JobProfile(
        "reputation_tasks",
        queue="default",
        every=timedelta(hours=6),
        median_s=1100.0,
        sigma=0.3,
        failure_rate=0.05,
        items_median=52_000,
        item_skip_rate=0.4,
        priority=3,
        time_limit_s=7200,
    ),
    JobProfile(
        "webhook_retry",
        queue="webhooks",
        every=timedelta(minutes=1),
        median_s=1.2,
        sigma=0.7,
        failure_rate=0.004,
        items_median=6,
        item_failure_rate=0.12,
        retry_rate=0.0,
        priority=8,
        wait_median_s=0.2,
    ),
    JobProfile(
        "embedding_generation",
        queue="ml",
        every=timedelta(seconds=30),
        chance=0.6,
        median_s=30.0,
        sigma=0.5,
        failure_rate=0.02,
        items_median=24,
        item_skip_rate=0.05,
        # One GPU worker: the ml queue is usually backed up.
        wait_median_s=50.0,
        priority=2,
    ),
    JobProfile(
        "inventory_sync",
        queue="sync",
        every=timedelta(minutes=6),
        median_s=150.0,
        sigma=0.45,
        failure_rate=0.04,
        items_median=1800,
        item_failure_rate=0.005,
        item_skip_rate=0.3,
        inline_retry_rate=0.08,
        stuck_rate=0.004,
        priority=5,
        wait_median_s=1.5,
        app="shop",
    ),
    JobProfile(
        "product_sync",
        queue="sync",
        every=timedelta(minutes=2),
        chance=0.6,
        median_s=22.0,
        sigma=0.6,
        failure_rate=0.05,
        items_median=250,
        item_failure_rate=0.02,
        item_skip_rate=0.1,
        wait_median_s=6.0,
        priority=5,
        app="shop",
    ),
)

PROFILES_BY_NAME = {profile.name: profile for profile in PROFILES}
