"""Each native rule as a check of one job's (or queue's) figures: does its condition hold, and the figure.

Pure functions over a Snapshot the evaluator reads from the store, so tests can craft figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobdeck.alerts import intervals
from jobdeck.alerts.catalog import BY_NAME, RuleSpec
from jobdeck.analytics import sketch

FAILED = ("failed", "lost")
FINISHED = ("succeeded", "failed", "cancelled", "lost")
RECENT_RUNS = 25  # the latest runs the evaluator reads per job
MIN_HISTORY = 10  # durations a job needs before "usual" means something
EARLY_START_S = 60.0  # a run that starts this much before its due time still counts for it


@dataclass
class JobFigures:
    """What the rules look at for one job."""

    job: str
    last_10m: Mapping[str, Any] = field(default_factory=dict)  # rollup counters
    last_5m: Mapping[str, Any] = field(default_factory=dict)
    durations_10m: Mapping[int, int] = field(default_factory=dict)  # sketch
    durations_day: Mapping[int, int] = field(default_factory=dict)
    last_success: datetime | None = None
    recent: Sequence[
        Mapping[str, Any]
    ] = ()  # newest first: run_at, status, started_at, finished_at, duration_s
    running: Sequence[Mapping[str, Any]] = ()  # run_id, started_at
    expectation: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Check:
    """The outcome of one rule for one subject."""

    rule: str
    subject: str
    holds: bool
    value: float | None
    threshold: float
    message: str


@dataclass(frozen=True)
class Limit:
    """A rule's threshold for one subject; `own` when set for this job rather than inherited."""

    threshold: float
    own: bool = False


def figure(spec: RuleSpec, value: float | None) -> str:
    """A rule's figure as people read it."""
    if value is None:
        return "no data"
    if spec.unit == "ratio":
        return f"{100 * value:.1f} %"
    if spec.unit == "seconds":
        return _duration(value)
    return f"{value:g}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _check(
    name: str, subject: str, holds: bool, value: float | None, threshold: float, detail: str = ""
) -> Check:
    spec = BY_NAME[name]
    message = f"{figure(spec, value)} (threshold {figure(spec, threshold)})"
    return Check(name, subject, holds, value, threshold, f"{message}{'; ' + detail if detail else ''}")


def _ratio(counts: Mapping[str, Any], part: Sequence[str], whole: Sequence[str]) -> float | None:
    total = sum(int(counts.get(name) or 0) for name in whole)
    return sum(int(counts.get(name) or 0) for name in part) / total if total else None


def failure_rate(name: str, window: str) -> Callable[[JobFigures, Limit, datetime], Check]:
    def check(f: JobFigures, limit: Limit, now: datetime) -> Check:
        counts = f.last_10m if window == "10m" else f.last_5m
        rate = _ratio(counts, FAILED, FINISHED)
        return _check(name, f.job, rate is not None and rate > limit.threshold, rate, limit.threshold)

    return check


def item_failure_rate(f: JobFigures, limit: Limit, now: datetime) -> Check:
    rate = _ratio(f.last_10m, ("items_failed",), ("items_succeeded", "items_failed", "items_skipped"))
    holds = rate is not None and rate > limit.threshold
    return _check("BackgroundJobHighItemFailureRate", f.job, holds, rate, limit.threshold)


def finished_durations(f: JobFigures, window_s: float, now: datetime) -> Mapping[int, int]:
    """A sketch of the durations of runs that finished in the last `window_s`: from the job's latest
    runs, or, when every one of them finished in the window (a busy job of short runs), from the
    rollups of the runs started in it."""
    recent = [run for run in f.recent if run["duration_s"] is not None and run["finished_at"] is not None]
    inside = [run for run in recent if (now - run["finished_at"]).total_seconds() <= window_s]
    if len(inside) >= RECENT_RUNS:
        return f.durations_10m
    bins: dict[int, int] = {}
    for run in inside:
        sketch.add_into(bins, {sketch.bin_of(run["duration_s"]): 1})
    return bins


def duration_p95(name: str) -> Callable[[JobFigures, Limit, datetime], Check]:
    def check(f: JobFigures, limit: Limit, now: datetime) -> Check:
        p95 = sketch.quantile(finished_durations(f, BY_NAME[name].window_s, now), 0.95)
        return _check(name, f.job, p95 is not None and p95 > limit.threshold, p95, limit.threshold)

    return check


def expected_interval(f: JobFigures, now: datetime) -> tuple[float | None, str]:
    """The job's expected interval and where it comes from ("declared", "scheduled" (its jobdeck
    schedule), "learned" or "")."""
    declared = intervals.declared_interval(f.expectation, now)
    if declared:
        scheduled = f.expectation is not None and f.expectation.get("source") == "schedule"
        return declared, "scheduled" if scheduled else "declared"
    learned = intervals.learned_interval([run["run_at"] for run in f.recent])
    return (learned, "learned") if learned else (None, "")


def not_running(f: JobFigures, limit: Limit, now: datetime) -> Check:
    """No success for longer than the job's interval plus grace; the threshold without an interval
    (or when set for this job)."""
    age = (now - f.last_success).total_seconds() if f.last_success else None
    threshold, detail = limit.threshold, "fixed threshold"
    if not limit.own:
        interval, source = expected_interval(f, now)
        if interval:
            grace = intervals.grace_for(interval, f.expectation)
            threshold = interval + grace
            detail = f"{source} interval {_duration(interval)} + grace {_duration(grace)}"
    holds = age is not None and age > threshold
    return _check("BackgroundJobNotRunning", f.job, holds, age, threshold, detail)


def critically_stale(f: JobFigures, limit: Limit, now: datetime) -> Check:
    age = (now - f.last_success).total_seconds() if f.last_success else None
    return _check(
        "BackgroundJobCriticallyStale", f.job, age is not None and age > limit.threshold, age, limit.threshold
    )


def consecutive_failures(f: JobFigures, limit: Limit, now: datetime) -> Check:
    streak = 0
    for run in f.recent:
        if run["status"] not in FINISHED:
            continue
        if run["status"] not in FAILED:
            break
        streak += 1
    return _check(
        "BackgroundJobConsecutiveFailures", f.job, streak >= limit.threshold, streak, limit.threshold
    )


def too_short(f: JobFigures, limit: Limit, now: datetime) -> Check:
    """The newest finished run succeeded in under `threshold` of the job's median duration."""
    spec = BY_NAME["BackgroundJobTooShort"]
    usual = sketch.quantile(f.durations_day, 0.5) if sum(f.durations_day.values()) >= MIN_HISTORY else None
    latest = next((run for run in f.recent if run["status"] in FINISHED), None)
    if usual is None or not usual or latest is None or latest["status"] != "succeeded":
        return _check(spec.name, f.job, False, None, limit.threshold)
    ended = latest["finished_at"]
    recent = ended is not None and (now - ended).total_seconds() <= spec.window_s
    ratio = (latest["duration_s"] or 0.0) / usual
    detail = f"{_duration(latest['duration_s'] or 0.0)} against a usual {_duration(usual)}"
    return _check(spec.name, f.job, recent and ratio < limit.threshold, ratio, limit.threshold, detail)


def too_frequent(f: JobFigures, limit: Limit, now: datetime) -> Check:
    """The newest gap between starts is under `threshold` of the expected interval."""
    spec = BY_NAME["BackgroundJobTooFrequent"]
    interval, source = expected_interval(f, now)
    starts = [run["run_at"] for run in f.recent[:2]]
    if not interval or len(starts) < 2:
        return _check(spec.name, f.job, False, None, limit.threshold)
    ratio = (starts[0] - starts[1]).total_seconds() / interval
    recent = (now - starts[0]).total_seconds() <= max(interval, spec.window_s)
    detail = f"{source} interval {_duration(interval)}"
    return _check(spec.name, f.job, recent and ratio < limit.threshold, ratio, limit.threshold, detail)


def overrunning(f: JobFigures, limit: Limit, now: datetime) -> Check:
    """A running run past the declared max runtime, or past `threshold` times the job's usual p99."""
    spec = BY_NAME["BackgroundJobOverrunning"]
    if f.expectation and f.expectation.get("max_runtime_s"):
        allowed, detail = float(f.expectation["max_runtime_s"]), "declared max runtime"
    elif sum(f.durations_day.values()) >= MIN_HISTORY:
        p99 = sketch.quantile(f.durations_day, 0.99) or 0.0
        allowed, detail = limit.threshold * p99, f"{limit.threshold:g} times the usual p99 {_duration(p99)}"
    else:
        return _check(spec.name, f.job, False, None, limit.threshold)
    elapsed_by_run = [
        ((now - run["started_at"]).total_seconds(), run["run_id"]) for run in f.running if run["started_at"]
    ]
    if not elapsed_by_run:
        return Check(spec.name, f.job, False, None, allowed, f"no run running; allowed {_duration(allowed)}")
    elapsed, run_id = max(elapsed_by_run)
    message = f"run {run_id} running for {_duration(elapsed)}, allowed {_duration(allowed)} ({detail})"
    return Check(spec.name, f.job, elapsed > allowed, elapsed, allowed, message)


def missed(f: JobFigures, limit: Limit, now: datetime) -> Check:
    """No run started by its due time plus grace, by the job's declared expectation."""
    spec = BY_NAME["BackgroundJobMissed"]
    if not f.expectation:
        return _check(spec.name, f.job, False, None, limit.threshold)
    last_start = f.recent[0]["run_at"] if f.recent else None
    due = intervals.due_time(f.expectation, last_start, now)
    interval = intervals.declared_interval(f.expectation, now)
    if due is None or not interval:
        return _check(spec.name, f.job, False, None, limit.threshold)
    grace = intervals.grace_for(interval, f.expectation)
    late = (now - due).total_seconds() - grace
    started = last_start is not None and (last_start - due).total_seconds() >= -EARLY_START_S
    detail = f"due {due.isoformat(timespec='minutes')}, grace {_duration(grace)}"
    return Check(
        spec.name,
        f.job,
        late > 0 and not started,
        max(late, 0.0),
        grace,
        f"{detail}; late by {_duration(max(late, 0.0))}",
    )


JOB_RULES: dict[str, Callable[[JobFigures, Limit, datetime], Check]] = {
    "BackgroundJobFailing": failure_rate("BackgroundJobFailing", "10m"),
    "BackgroundJobCriticalFailureRate": failure_rate("BackgroundJobCriticalFailureRate", "5m"),
    "BackgroundJobNotRunning": not_running,
    "BackgroundJobCriticallyStale": critically_stale,
    "BackgroundJobHighDuration": duration_p95("BackgroundJobHighDuration"),
    "BackgroundJobCriticalDuration": duration_p95("BackgroundJobCriticalDuration"),
    "BackgroundJobHighItemFailureRate": item_failure_rate,
    "BackgroundJobConsecutiveFailures": consecutive_failures,
    "BackgroundJobTooShort": too_short,
    "BackgroundJobTooFrequent": too_frequent,
    "BackgroundJobOverrunning": overrunning,
    "BackgroundJobMissed": missed,
}


def queue_size(queue: str, depth: int, limit: Limit) -> Check:
    return _check("BackgroundJobCriticalQueueSize", queue, depth > limit.threshold, depth, limit.threshold)


def queue_growing(queue: str, depth: int, previous: float | None, limit: Limit) -> Check:
    """Above the threshold and deeper than at the previous evaluation."""
    holds = depth > limit.threshold and previous is not None and depth > previous
    detail = f"was {previous:g}" if previous is not None else ""
    return _check("BackgroundJobQueueGrowing", queue, holds, depth, limit.threshold, detail)
