"""The queue sampler: every few seconds, each queue's size from every source into the store (the
`queue_size` time series, the Queues page's sparklines), and old samples out once an hour."""

from __future__ import annotations

import time
from dataclasses import dataclass

from jobdeck.background.periodic import Periodic
from jobdeck.integrations.queues import QueueSources
from jobdeck.integrations.reading import QueueReader
from jobdeck.store import Store
from jobdeck.store import queue_samples as samples

EVERY_S = 5.0
KEEP_DAYS = 14.0
PRUNE_EVERY_S = 3600.0


@dataclass
class Sampled:
    queues: int
    unreachable: int
    pruned: int

    def __bool__(self) -> bool:  # only pruning is worth a log line; every 5 s is not
        return self.pruned > 0


class QueueSampler(Periodic):
    """A `services.Loop`: `run_once()` takes one sample of every queue (no rows when there are no sources)."""

    def __init__(
        self,
        store: Store,
        sources: QueueSources,
        reader: QueueReader,
        every_s: float = EVERY_S,
        keep_days: float = KEEP_DAYS,
    ) -> None:
        super().__init__("queue sampler", self.run_once, every_s)
        self.store, self.sources, self.reader, self.keep_days = store, sources, reader, keep_days
        self._pruned_at = 0.0

    def run_once(self, now_s: float | None = None) -> Sampled | None:
        if not len(self.sources):
            return None
        now_s = time.time() if now_s is None else now_s
        snapshot = self.reader.read(self.sources)
        pruned = 0
        with self.store.write() as conn:
            samples.write(conn, now_s, snapshot.queues)
            if now_s - self._pruned_at >= PRUNE_EVERY_S:
                pruned = samples.delete_before(conn, now_s - self.keep_days * 86400)
                self._pruned_at = now_s
        unreachable = sum(1 for broker in snapshot.brokers if not broker.reachable)
        return Sampled(len(snapshot.queues), unreachable, pruned)


def loop(
    store: Store, sources: QueueSources, reader: QueueReader, keep_days: float = KEEP_DAYS
) -> QueueSampler:
    """The sampler every EVERY_S seconds, keeping `keep_days` (JOBDECK_QUEUE_SAMPLE_DAYS) of samples."""
    return QueueSampler(store, sources, reader, keep_days=keep_days)
