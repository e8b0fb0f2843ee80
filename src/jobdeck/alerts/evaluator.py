"""The alert evaluator: `run_once` checks every rule for every job and queue and records what changed.

One evaluation claims its slot in the store first (store.alerts.claim_evaluation), so replicas on
PostgreSQL take turns instead of evaluating (and notifying) twice; `serve` repeats it every
`--alert-interval` seconds. A rule that fails on odd data is logged and skipped, never the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from jobdeck.alerts import expectations as declared
from jobdeck.alerts import rules, silences, states
from jobdeck.alerts.catalog import BY_NAME, CRITICAL
from jobdeck.alerts.rules import Check, JobFigures, Limit
from jobdeck.store import Store
from jobdeck.store import alerts as store_alerts
from jobdeck.store import channels as store_channels
from jobdeck.store import metrics as store_metrics
from jobdeck.store import schedules as store_schedules

log = logging.getLogger(__name__)

DAY_S = 86400
QUEUE_RULES = ("BackgroundJobQueueGrowing", "BackgroundJobCriticalQueueSize")


@dataclass
class Snapshot:
    """Everything one evaluation looks at, read in one transaction."""

    now: datetime
    jobs: dict[str, JobFigures]
    queues: dict[str, int]


@dataclass
class Evaluation:
    """What one `run_once` did."""

    claimed: bool
    checked: int = 0
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, subject, new state)
    notifications: int = 0

    def __bool__(self) -> bool:
        return bool(self.changes)


def read_snapshot(conn: Connection, now: datetime) -> Snapshot:
    at = int(now.timestamp())
    jobs = store_alerts.known_jobs(conn)
    last_10m = store_alerts.window_totals(conn, at - 600, at + 1)
    last_5m = store_alerts.window_totals(conn, at - 300, at + 1)
    durations_10m = store_alerts.duration_bins(conn, at - 600, at + 1)
    durations_day = store_alerts.duration_bins(conn, at - DAY_S, at + 1)
    success = store_alerts.last_success(conn, jobs)
    recent = store_alerts.recent_runs(conn, jobs, rules.RECENT_RUNS)
    expectations = {
        **declared.from_schedules(store_schedules.list_all(conn), now),
        **store_alerts.expectations(conn),
    }
    running: dict[str, list[dict[str, Any]]] = {}
    for run in store_alerts.running_runs(conn):
        running.setdefault(run["job"], []).append(run)
    figures = {
        job: JobFigures(
            job=job,
            last_10m=last_10m.get(job, {}),
            last_5m=last_5m.get(job, {}),
            durations_10m=durations_10m.get(job, {}),
            durations_day=durations_day.get(job, {}),
            last_success=success.get(job),
            recent=recent.get(job, []),
            running=running.get(job, []),
            expectation=expectations.get(job),
        )
        for job in jobs
    }
    return Snapshot(now, figures, store_metrics.pending_by_queue(conn))


class Limits:
    """Thresholds and hold times: a job's own setting, else the rule's global one, else the default."""

    def __init__(self, stored: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
        self.stored = stored

    def _setting(self, rule: str, job: str, name: str) -> tuple[Any, bool]:
        for key, own in (((rule, job), True), ((rule, ""), False)):
            found = self.stored.get(key)
            if found is not None and found.get(name) is not None:
                return found[name], own
        return None, False

    def enabled(self, rule: str, job: str) -> bool:
        value, _ = self._setting(rule, job, "enabled")
        return value is None or bool(value)

    def limit(self, rule: str, job: str) -> Limit:
        value, own = self._setting(rule, job, "threshold")
        return Limit(BY_NAME[rule].threshold, False) if value is None else Limit(float(value), own)

    def hold_s(self, rule: str, job: str) -> float:
        spec = BY_NAME[rule]
        if spec.severity == CRITICAL:
            return 0.0  # critical rules fire at the first evaluation that sees them
        value, _ = self._setting(rule, job, "hold_s")
        return float(spec.hold_s if value is None else value)


def checks(
    snapshot: Snapshot, limits: Limits, previous: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[Check]:
    """Every enabled rule for every job and queue; a rule that raises is logged and skipped."""
    found: list[Check] = []
    for job, figures in snapshot.jobs.items():
        for name, check in rules.JOB_RULES.items():
            if not limits.enabled(name, job):
                continue
            try:
                found.append(check(figures, limits.limit(name, job), snapshot.now))
            except Exception:  # one job's odd data must not stop the other checks
                log.exception("alert rule %s failed for job %s", name, job)
    for queue, depth in snapshot.queues.items():
        if limits.enabled("BackgroundJobCriticalQueueSize", queue):
            found.append(
                rules.queue_size(queue, depth, limits.limit("BackgroundJobCriticalQueueSize", queue))
            )
        if limits.enabled("BackgroundJobQueueGrowing", queue):
            before = previous.get(("BackgroundJobQueueGrowing", queue), {}).get("value")
            limit = limits.limit("BackgroundJobQueueGrowing", queue)
            found.append(rules.queue_growing(queue, depth, before, limit))
    return found


def successes_since(figures: JobFigures | None, since: datetime) -> int | None:
    if figures is None:
        return None
    return sum(
        1
        for run in figures.recent
        if run["status"] == "succeeded" and run["finished_at"] is not None and run["finished_at"] >= since
    )


class Evaluator:
    """Evaluates every rule once per call; notifications go to every channel's outbox."""

    def __init__(
        self, store: Store, every_s: float = 60.0, resolve_after: int = 1, public_url: str = ""
    ) -> None:
        self.store = store
        self.every_s = every_s
        self.resolve_after = resolve_after
        self.public_url = public_url.rstrip("/")

    def run_once(self, now: datetime | None = None) -> Evaluation:
        now = now or datetime.now(UTC)
        with self.store.write() as conn:
            every_ms = int(self.every_s * 1000)
            if not store_alerts.claim_evaluation(conn, int(now.timestamp() * 1000), every_ms):
                return Evaluation(claimed=False)
        with self.store.read() as conn:
            snapshot = read_snapshot(conn, now)
            limits = Limits(store_alerts.thresholds(conn))
        with self.store.write() as conn:
            return self._record(conn, snapshot, limits)

    def _record(self, conn: Connection, snapshot: Snapshot, limits: Limits) -> Evaluation:
        now = snapshot.now
        stored = store_alerts.states(conn)
        found = checks(snapshot, limits, stored)
        active_silences = store_alerts.silences(conn)
        result = Evaluation(claimed=True, checked=len(found))
        changed, removed, history, notices = [], [], [], []
        seen = set()
        for check in found:
            key = (check.rule, check.subject)
            seen.add(key)
            figures = snapshot.jobs.get(check.subject) if check.rule not in QUEUE_RULES else None
            old = stored.get(key)
            resolve_after = self.resolve_after
            if figures is not None and figures.expectation:
                resolve_after = int(figures.expectation.get("resolve_after") or resolve_after)
            step = states.advance(
                old,
                check,
                limits.hold_s(check.rule, check.subject),
                now,
                successes_since=successes_since(figures, old["since"]) if old else None,
                resolve_after=resolve_after,
                keep_ok=check.rule == "BackgroundJobQueueGrowing",
            )
            if step.row is not None:
                if old is None or _differs(old, step.row):
                    changed.append(step.row)
            elif old is not None:
                removed.append(key)
            if step.changed_to is not None:
                result.changes.append((check.rule, check.subject, step.changed_to))
                history.append(
                    {
                        "rule": check.rule,
                        "subject": check.subject,
                        "state": step.changed_to,
                        "at": now,
                        "value": check.value,
                        "message": check.message,
                    }
                )
            if step.notify and not silences.silenced(active_silences, check.rule, check.subject, now):
                notices.append((step.notify, check))
        # A rule turned off, or a job or queue gone: its stored state goes back to ok.
        removed.extend(key for key in stored if key not in seen)
        store_alerts.save_states(conn, changed, removed)
        store_alerts.add_history(conn, history)
        store_alerts.drop_expired_silences(conn, now)
        result.notifications = self._notify(conn, notices, now)
        return result

    def _notify(self, conn: Connection, notices: Sequence[tuple[str, Check]], now: datetime) -> int:
        targets = store_channels.channels(conn)
        rows = [
            {
                "channel_id": channel["id"],
                "event": event,
                "rule": check.rule,
                "subject": check.subject,
                "payload": payload(event, check, now, self.public_url),
            }
            for event, check in notices
            for channel in targets
        ]
        store_channels.enqueue(conn, rows, now)
        return len(rows)


def _differs(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return any(old.get(name) != new[name] for name in ("state", "since", "value", "threshold", "clear_count"))


def payload(event: str, check: Check, now: datetime, public_url: str) -> dict[str, Any]:
    """What a notification says: which job (or queue), which rule, the figure, and a link."""
    spec = BY_NAME[check.rule]
    is_queue = check.rule in QUEUE_RULES
    link = f"{public_url}/alerts" if is_queue else f"{public_url}/jobs/{quote(check.subject, safe='')}"
    return {
        "event": event,
        "rule": check.rule,
        "severity": spec.severity,
        "job": None if is_queue else check.subject,
        "queue": check.subject if is_queue else None,
        "value": check.value,
        "threshold": check.threshold,
        "figure": rules.figure(spec, check.value),
        "summary": spec.summary,
        "message": check.message,
        "url": link,
        "at": now.isoformat(),
    }
