"""Summaries over a window, answered from rollups plus the live-runs index (never a raw-run scan)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from jobdeck.analytics import sketch
from jobdeck.store import rollups
from jobdeck.store import runs as run_rows

TERMINAL_COUNTERS = ("succeeded", "failed", "cancelled", "lost")


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _rate(succeeded: int, finished: int) -> float | None:
    return round(100.0 * succeeded / finished, 2) if finished else None


def per_minute(count: int, since: datetime, until: datetime) -> float:
    """A count over the window as a rate per minute (the seed board's success/min and failures/min)."""
    minutes = max((until - since).total_seconds() / 60, 1 / 60)
    return round(count / minutes, 4)


def _clamped(value: float | None, low: float | None, high: float | None) -> float | None:
    if value is None:
        return None
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


def job_summaries(
    conn: Connection, since: datetime, until: datetime, job: str | None = None
) -> list[dict[str, Any]]:
    """Per job: counts, success rate, duration avg/min/max/p50/p95, and its latest runs."""
    totals = rollups.totals_by_job(conn, _epoch(since), _epoch(until) + 1, job)
    bins = rollups.bins_by_job(conn, _epoch(since), _epoch(until) + 1, rollups.DURATION, job)
    live = run_rows.live_counts(conn, job)
    names = sorted(set(totals) | set(live))
    latest = run_rows.latest_by_job(conn, names)
    summaries = []
    for name in names:
        t = totals.get(name, {})
        finished = sum(int(t.get(k) or 0) for k in TERMINAL_COUNTERS)
        dur_count = int(t.get("dur_count") or 0)
        low, high = t.get("dur_min"), t.get("dur_max")
        job_bins = bins.get(name, {})
        summaries.append(
            {
                "job": name,
                "runs": int(t.get("runs") or 0),
                "succeeded": int(t.get("succeeded") or 0),
                "failed": int(t.get("failed") or 0),
                "cancelled": int(t.get("cancelled") or 0),
                "lost": int(t.get("lost") or 0),
                "running": live.get(name, {}).get("running", 0),
                "pending": live.get(name, {}).get("pending", 0) + live.get(name, {}).get("retrying", 0),
                "success_rate": _rate(int(t.get("succeeded") or 0), finished),
                "failure_rate": _rate(int(t.get("failed") or 0) + int(t.get("lost") or 0), finished),
                "success_per_min": per_minute(int(t.get("succeeded") or 0), since, until),
                "failures_per_min": per_minute(
                    int(t.get("failed") or 0) + int(t.get("lost") or 0), since, until
                ),
                "avg_duration_s": (float(t["dur_sum"]) / dur_count) if dur_count else None,
                "min_duration_s": low,
                "max_duration_s": high,
                "p50_duration_s": _clamped(sketch.quantile(job_bins, 0.5), low, high),
                "p95_duration_s": _clamped(sketch.quantile(job_bins, 0.95), low, high),
                "items_succeeded": int(t.get("items_succeeded") or 0),
                "items_failed": int(t.get("items_failed") or 0),
                "items_skipped": int(t.get("items_skipped") or 0),
                **latest.get(name, {}),
            }
        )
    return summaries


def stats(conn: Connection, since: datetime, until: datetime, job: str | None = None) -> dict[str, Any]:
    """Totals over the window; running and pending are the live runs now."""
    totals = rollups.totals_by_job(conn, _epoch(since), _epoch(until) + 1, job)
    live = run_rows.live_counts(conn, job)

    def total(name: str) -> int:
        return sum(int(t.get(name) or 0) for t in totals.values())

    finished = sum(total(k) for k in TERMINAL_COUNTERS)
    dur_count = total("dur_count")
    dur_sum = sum(float(t.get("dur_sum") or 0) for t in totals.values())
    return {
        "total": total("runs"),
        "succeeded": total("succeeded"),
        "failed": total("failed"),
        "cancelled": total("cancelled"),
        "lost": total("lost"),
        "running": sum(c.get("running", 0) for c in live.values()),
        "pending": sum(c.get("pending", 0) + c.get("retrying", 0) for c in live.values()),
        "success_rate": _rate(total("succeeded"), finished),
        "success_per_min": per_minute(total("succeeded"), since, until),
        "failures_per_min": per_minute(total("failed") + total("lost"), since, until),
        "avg_duration_s": dur_sum / dur_count if dur_count else None,
    }
