"""A prometheus_client collector that reads the store on each scrape (rollups, not runs).

Histogram buckets come from the rollups' log-bucketed sketches summed over all time. A sketch bin
holds values in (GAMMA**(i-1), GAMMA**i]; a bin lies under an edge when its representative value
does, so a value within one bin's width (about 3 %) of an edge may be counted on the wrong side of
it. Everything else is exact: `_count` and `_sum` are the rollups' counters, and `+Inf` is `_count`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from jobdeck.analytics import sketch
from jobdeck.metrics import names
from jobdeck.store import Store
from jobdeck.store import metrics as store_metrics


def cumulative_buckets(
    bins: Mapping[int, int], edges: Sequence[float], count: int
) -> list[tuple[str, float]]:
    """Prometheus buckets (le, cumulative count) from a sketch; +Inf is `count`."""
    ordered = sorted((sketch.value_of(index), n) for index, n in bins.items())
    result: list[tuple[str, float]] = []
    seen, position = 0, 0
    for edge in edges:
        while position < len(ordered) and ordered[position][0] <= edge:
            seen += ordered[position][1]
            position += 1
        result.append((_le(edge), min(seen, count)))
    result.append(("+Inf", count))
    return result


def _le(edge: float) -> str:
    return str(edge) if edge != int(edge) else f"{edge:.1f}"


class StoreCollector:
    """Every jobdeck metric, read from the store when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        with self.store.read() as conn:
            totals = store_metrics.totals_by_job(conn)
            jobs = sorted(totals)
            last_success = store_metrics.last_success_by_job(conn, jobs)
            running = store_metrics.running_by_job(conn)
            queues = store_metrics.pending_by_queue(conn)
        yield from self._counters(totals)
        yield self._histogram(
            names.DURATION, "How long runs took (seconds).", totals, "dur", names.DURATION_BUCKETS
        )
        yield self._histogram(
            names.QUEUE_WAIT,
            "How long runs waited from enqueue to start (seconds).",
            totals,
            "wait",
            names.WAIT_BUCKETS,
        )
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

    def _histogram(
        self,
        name: str,
        documentation: str,
        totals: Mapping[str, store_metrics.JobTotals],
        prefix: str,
        edges: Sequence[float],
    ) -> Metric:
        family = HistogramMetricFamily(name, documentation, labels=["job_name"])
        for job in sorted(totals):
            job_totals = totals[job]
            bins = job_totals.durations if prefix == "dur" else job_totals.waits
            count = int(job_totals.counts[f"{prefix}_count"])
            family.add_metric(
                [job], cumulative_buckets(bins, edges, count), sum_value=job_totals.counts[f"{prefix}_sum"]
            )
        return family
