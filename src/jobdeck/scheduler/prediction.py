"""The firings to come and the overlaps they will make, with a stagger that removes them (pure).

Each schedule's next firings in a window get an expected duration (its job's p50 and p95 from the
rollups); firings of different schedules whose p95 spans meet are predicted overlaps. The stagger
moves cron schedules with a fixed minute to another minute of the same hour, one at a time, most
overlapping first, keeping a move only when it lowers the overlaps (the nearest such minute wins).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from jobdeck.analytics.overlaps import Interval, sweep
from jobdeck.scheduler.triggers import Trigger, cron_fields

DEFAULT_DURATION_S = 60.0  # for a job with no finished runs yet
MAX_PER_SCHEDULE = 2000
MAX_MOVED = 20


@dataclass(frozen=True)
class Planned:
    """A schedule as the prediction sees it: its trigger, where it stands, its job's durations."""

    schedule_id: str
    name: str
    job: str
    trigger: Trigger
    next_run_at: datetime
    executions: int
    p50_s: float | None
    p95_s: float | None


@dataclass(frozen=True)
class Firing:
    schedule_id: str
    at: datetime
    p50_s: float
    p95_s: float
    estimated: bool  # False when the job has no history and DEFAULT_DURATION_S stands in

    @property
    def key(self) -> str:
        return f"{self.schedule_id}@{self.at.isoformat()}"


@dataclass(frozen=True)
class Move:
    schedule_id: str
    cron: str
    suggested_cron: str
    shift_minutes: int


def firings(plan: Planned, until: datetime) -> list[Firing]:
    """A schedule's firings from its next time up to `until`."""
    p50 = plan.p50_s or plan.p95_s or DEFAULT_DURATION_S
    p95 = max(plan.p95_s or p50, p50)
    known = plan.p50_s is not None
    found: list[Firing] = []
    at: datetime | None = plan.next_run_at
    executions = plan.executions
    while at is not None and at <= until and len(found) < MAX_PER_SCHEDULE:
        found.append(Firing(plan.schedule_id, at, p50, p95, known))
        executions += 1
        at = plan.trigger.next_after(at, executions)
    return found


def overlaps(
    all_firings: Sequence[Firing], max_pairs: int = 10_000
) -> list[tuple[Firing, Firing, float, float]]:
    """Pairs of firings of different schedules whose p95 spans overlap: (a, b, start, end)."""
    by_key = {f.key: f for f in all_firings}
    intervals = [Interval(f.key, f.at.timestamp(), f.at.timestamp() + f.p95_s) for f in all_firings]
    found = sweep(intervals, max_pairs=max_pairs * 4)
    pairs = []
    for o in found.overlaps:
        a, b = by_key[o.a], by_key[o.b]
        if a.schedule_id != b.schedule_id:
            pairs.append((a, b, o.start, o.end))
        if len(pairs) >= max_pairs:
            break
    return pairs


def _with_minute(plan: Planned, minute: int, now: datetime) -> Planned | None:
    """The schedule moved to another minute, when its cron has one fixed minute."""
    trigger = plan.trigger
    if trigger.kind != "cron" or trigger.cron is None:
        return None
    fields = cron_fields(trigger.cron).split()
    if not fields[0].isdigit():
        return None
    fields[0] = str(minute)
    moved = replace(trigger, cron=" ".join(fields))
    first = moved.next_after(now, plan.executions)
    if first is None:
        return None
    return replace(plan, trigger=moved, next_run_at=first)


def stagger(plans: Sequence[Planned], now: datetime, until: datetime) -> tuple[list[Move], list[Planned]]:
    """New minutes for cron schedules involved in predicted overlaps that lower the overlaps; the
    moves, and the schedules as they would be after them."""
    current = {p.schedule_id: p for p in plans}
    spans = {p.schedule_id: firings(p, until) for p in plans}

    def count(schedule_id: str) -> int:
        everything = [f for fs in spans.values() for f in fs]
        return sum(schedule_id in (a.schedule_id, b.schedule_id) for a, b, _, _ in overlaps(everything))

    involved = Counter(
        s
        for a, b, _, _ in overlaps([f for fs in spans.values() for f in fs])
        for s in (a.schedule_id, b.schedule_id)
    )
    moves: list[Move] = []
    for schedule_id, _ in involved.most_common(MAX_MOVED):
        plan = current[schedule_id]
        original = plan.trigger.cron
        if original is None or not cron_fields(original).split()[0].isdigit():
            continue
        minute = int(cron_fields(original).split()[0])
        best, best_count = minute, count(schedule_id)
        for shift in sorted(range(-59, 60), key=abs):
            candidate_minute = minute + shift
            if not 0 <= candidate_minute <= 59 or shift == 0:
                continue
            moved = _with_minute(plan, candidate_minute, now)
            if moved is None:
                continue
            saved = spans[schedule_id]
            spans[schedule_id] = firings(moved, until)
            n = count(schedule_id)
            spans[schedule_id] = saved
            if n < best_count:
                best, best_count = candidate_minute, n
                if n == 0:
                    break
        if best != minute:
            moved = _with_minute(plan, best, now)
            assert moved is not None
            assert moved.trigger.cron is not None
            current[schedule_id] = moved
            spans[schedule_id] = firings(moved, until)
            moves.append(Move(schedule_id, original, moved.trigger.cron, best - minute))
    return moves, list(current.values())


def durations_of(summaries: Sequence[Mapping[str, object]]) -> dict[str, tuple[float | None, float | None]]:
    """(p50, p95) by job, from the job summaries of the rollups."""
    found: dict[str, tuple[float | None, float | None]] = {}
    for s in summaries:
        p50, p95 = s.get("p50_duration_s"), s.get("p95_duration_s")
        found[str(s["job"])] = (
            float(p50) if isinstance(p50, int | float) else None,
            float(p95) if isinstance(p95, int | float) else None,
        )
    return found
