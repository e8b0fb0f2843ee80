"""What the overview and job pages show: stat cards, the job summary rows and the change against the
previous period of the same length, read from the store's report functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from jobdeck.store import reports
from jobdeck.store import runs as run_rows
from jobdeck.web.deps import Window
from jobdeck.web.pages import formatting

RECENT_COLUMNS = ("run_id", "job", "status", "created_at", "started_at", "finished_at", "duration_s")
# The seed board's thresholds: success rate red < 50 %, yellow 50-90 %, green above; time since the
# last success green < 2 h, yellow 2-6 h, red beyond.
RATE_WARN, RATE_BAD = 90.0, 50.0
STALE_WARN_S, STALE_BAD_S = 2 * 3600, 6 * 3600
# A count that grew at least this many times over is "new": a percentage of a previous figure that
# small (two runs before, 128,661 now) means nothing.
NEW_FACTOR = 10
# A custom range whose end is this close to now still shows the present-state columns.
ENDS_NOW_SLACK = timedelta(minutes=2)
# Failures per minute: amber above 0.1, red above 1 (the seed board's status panel).
FAILURES_WARN, FAILURES_BAD = 0.1, 1.0


@dataclass(frozen=True)
class Delta:
    """A change against the previous period: '▲ 12 (+8%)', and whether it is good news."""

    text: str
    tone: str  # good | bad | flat
    title: str


def previous(window: Window) -> Window:
    """The period of the same length just before the window."""
    return Window(window.since - (window.until - window.since), window.since)


def delta(now: float | None, before: float | None, *, unit: str, higher_is_good: bool | None) -> Delta | None:
    """The change from `before` to `now`, or None when either is unknown."""
    if now is None or before is None:
        return None
    change = now - before
    # A change too small to show ("▼ 0.0 pts", "▲ 0 ms") is no change.
    # The previous value itself: a rate in points of change was a percentage.
    title = f"previous period: {_show(before, '%' if unit == 'pts' else unit)}"
    if abs(change) < 1e-9 or _show(abs(change), unit) == _show(0.0, unit):
        return Delta("= no change", "flat", title)
    arrow = "▲" if change > 0 else "▼"
    text = f"{arrow} {_show(abs(change), unit)}"
    if unit == "count":
        if now >= NEW_FACTOR * before:
            # From nothing, or from next to nothing: "+6433050%" would say nothing true.
            text += " (new)"
            title += " — too few for a percentage"
        else:
            percent = change / before * 100
            # Under one percent keeps a decimal: "(-0%)" read as no change beside a real one.
            text += f" ({percent:+.1f}%)" if abs(percent) < 1 else f" ({percent:+.0f}%)"
    tone = "flat" if higher_is_good is None else ("good" if (change > 0) == higher_is_good else "bad")
    return Delta(text, tone, title)


def _show(value: float, unit: str) -> str:
    if unit == "pts":
        return f"{value:.1f} pts"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "s":
        return formatting.duration(value)
    return f"{value:,.0f}"


def rate_tone(rate: float | None) -> str:
    if rate is None:
        return "muted"
    return "ok" if rate >= RATE_WARN else ("warn" if rate >= RATE_BAD else "bad")


def failures_tone(per_minute: float) -> str:
    return "ok" if per_minute <= FAILURES_WARN else ("warn" if per_minute <= FAILURES_BAD else "bad")


def stale_tone(seconds: float | None) -> str:
    if seconds is None:
        return "bad"
    return "ok" if seconds < STALE_WARN_S else ("warn" if seconds < STALE_BAD_S else "bad")


def cards(conn: Connection, window: Window, job: str | None) -> dict[str, Any]:
    """The four stat cards with their change against the previous period."""
    now = reports.stats(conn, window.since, window.until, job)
    before_window = previous(window)
    before = reports.stats(conn, before_window.since, before_window.until, job)
    return {
        "stats": now,
        "previous": before,
        "total_delta": delta(now["total"], before["total"], unit="count", higher_is_good=None),
        "rate_delta": delta(
            now["success_rate"],
            before["success_rate"],
            unit="pts",
            higher_is_good=True,
        ),
        "avg_delta": delta(now["avg_duration_s"], before["avg_duration_s"], unit="s", higher_is_good=False),
        "rate_tone": rate_tone(now["success_rate"]),
    }


def ends_now(window: Window, now: datetime | None = None) -> bool:
    """True when the window reaches the present (within a refresh or two), so "now" columns belong."""
    return window.until >= (now or datetime.now(UTC)) - ENDS_NOW_SLACK


def summary_rows(
    conn: Connection, window: Window, job: str | None, slow_job_seconds: float
) -> list[dict[str, Any]]:
    """One row per job: the report's figures, flags, tones and changes against the previous period.

    For a window ending now, the status and time since the last success are of the present; for a
    past window the rows hold the window's own figures only (the last run is the window's last)."""
    now = datetime.now(UTC)
    present = ends_now(window, now)
    rows = reports.job_summaries(conn, window.since, window.until, job, present=present)
    before_window = previous(window)
    before = {
        s["job"]: s
        for s in reports.job_summaries(conn, before_window.since, before_window.until, job, present=False)
    }
    for row in rows:
        old = before.get(row["job"], {})
        since_success = formatting.seconds_since(row.get("last_success_at"), now) if present else None
        row["present"] = present
        row["status_now"] = "running" if row["running"] else (row.get("last_status") or "pending")
        row["slow"] = row["avg_duration_s"] is not None and row["avg_duration_s"] > slow_job_seconds
        row["failing"] = row.get("last_status") == "failed" or rate_tone(row["success_rate"]) == "bad"
        row["rate_tone"] = rate_tone(row["success_rate"])
        row["since_success_s"] = since_success
        row["stale_tone"] = stale_tone(since_success)
        row["failures_tone"] = failures_tone(row["failures_per_min"])
        row["health"] = health(row)
        row["health_rank"] = HEALTH_ORDER.index(row["health"])
        row["runs_delta"] = delta(row["runs"], old.get("runs", 0), unit="count", higher_is_good=None)
        row["rate_delta"] = delta(
            row["success_rate"], old.get("success_rate"), unit="pts", higher_is_good=True
        )
        row["avg_delta"] = delta(
            row["avg_duration_s"], old.get("avg_duration_s"), unit="s", higher_is_good=False
        )
    return rows


# A wall screen's tiles, worst first: with more jobs than fit, the ones in trouble are the ones shown.
HEALTH_ORDER = ("bad", "warn", "ok", "muted")


def health(row: dict[str, Any]) -> str:
    """A job's tile tone: the worst of its success-rate and staleness tones, bad while it is failing,
    muted when nothing finished in the window."""
    tones = (row["rate_tone"], row["stale_tone"], "bad" if row["failing"] else "ok")
    if "bad" in tones:
        return "bad"
    if "warn" in tones:
        return "warn"
    return "ok" if row["success_rate"] is not None else "muted"


def recent_runs(conn: Connection, window: Window, job: str | None, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent runs in the window (by start, or creation while not started)."""
    found, _ = run_rows.list_runs(
        conn, since=window.since, until=window.until, job=job, limit=limit, columns=RECENT_COLUMNS
    )
    return found
