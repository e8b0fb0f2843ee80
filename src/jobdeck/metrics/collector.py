"""A prometheus_client collector that reads the store on each scrape (rollups, not runs).

Histogram buckets come from the rollups' log-bucketed sketches summed over all time. A sketch bin
holds values in (GAMMA**(i-1), GAMMA**i]; a bin lies under an edge when its representative value
does, so a value within one bin's width (about 3 %) of an edge may be counted on the wrong side of
it. Everything else is exact: `_count` and `_sum` are the rollups' counters, and `+Inf` is `_count`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from jobdeck.metrics import names
from jobdeck.store import Store
from jobdeck.store import metrics as store_metrics


def cumulative_buckets(counts: Sequence[int], edges: Sequence[float], total: int) -> list[tuple[str, float]]:
    """Prometheus buckets (le, cumulative count) from counts per bucket; +Inf is `total`."""
    running = itertools.accumulate(counts or [0] * (len(edges) + 1))
    return [
        *((le, min(n, total)) for le, n in zip(_labels(tuple(edges)), running, strict=False)),
        ("+Inf", total),
    ]


@functools.cache
def _labels(edges: tuple[float, ...]) -> tuple[str, ...]:
    """The `le` label of each edge, as Prometheus clients write it (1.0, 0.5)."""
    return tuple(str(edge) if edge != int(edge) else f"{edge:.1f}" for edge in edges)


class StoreCollector:
    """Every jobdeck metric, read from the store when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        with self.store.read() as conn:
            totals = store_metrics.totals_by_job(conn, names.DURATION_BUCKETS, names.WAIT_BUCKETS)
            jobs = sorted(totals)
            last_success = store_metrics.last_success_by_job(conn, jobs)
            running = store_metrics.running_by_job(conn)
            queues = store_metrics.pending_by_queue(conn)
        yield from self._counters(totals)
        yield self._durations(totals)
        yield self._waits(totals)
        success = GaugeMetricFamily(
            names.LAST_SUCCESS, "When the job's latest successful run ended (Unix time).", labels=["job_name"]
        )
        for job in jobs:
            if job in last_success:
                success.add_metric([job], last_success[job])
        yield success
        live = GaugeMetricFamily(names.RUNNING, "Runs of the job running now.", labels=["job_name"])
        for job in sorted(set(jobs) | set(running)):
            live.add_metric([job], running.get(job, 0))
        yield live
        depth = GaugeMetricFamily(names.QUEUE_SIZE, "Runs waiting to start in the queue.", labels=["queue"])
        for queue in sorted(queues):
            depth.add_metric([queue], queues[queue])
        yield depth

    def _counters(self, totals: Mapping[str, store_metrics.JobTotals]) -> Iterator[Metric]:
        executions = CounterMetricFamily(
            names.EXECUTIONS, "Finished runs by outcome.", labels=["job_name", "status"]
        )
        items = CounterMetricFamily(
            names.ITEMS, "Items runs processed by outcome.", labels=["job_name", "status"]
        )
        for job in sorted(totals):
            counts = totals[job].counts
            for column, status in names.EXECUTION_STATUSES.items():
                executions.add_metric([job, status], counts[column])
            for column, status in names.ITEM_STATUSES.items():
                items.add_metric([job, status], counts[column])
        yield executions
        yield items

    def _durations(self, totals: Mapping[str, store_metrics.JobTotals]) -> Metric:
        family = HistogramMetricFamily(names.DURATION, "How long runs took (seconds).", labels=["job_name"])
        for job in sorted(totals):
            job_totals = totals[job]
            count = int(job_totals.counts["dur_count"])
            buckets = cumulative_buckets(job_totals.durations, names.DURATION_BUCKETS, count)
            family.add_metric([job], buckets, sum_value=job_totals.counts["dur_sum"])
        return family

    def _waits(self, totals: Mapping[str, store_metrics.JobTotals]) -> Metric:
        """Queue waits over every job (one histogram: the issue's `job_queue_wait_seconds` has no labels)."""
        counts = [0] * (len(names.WAIT_BUCKETS) + 1)
        count, total = 0, 0.0
        for job_totals in totals.values():
            counts = [a + b for a, b in zip(counts, job_totals.waits or counts, strict=True)]
            count += int(job_totals.counts["wait_count"])
            total += job_totals.counts["wait_sum"]
        family = HistogramMetricFamily(
            names.QUEUE_WAIT, "How long runs waited from enqueue to start (seconds)."
        )
        family.add_metric([], cumulative_buckets(counts, names.WAIT_BUCKETS, count), sum_value=total)
        return family
