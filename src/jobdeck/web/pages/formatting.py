"""How the run pages write times, durations and JSON: pure functions the templates call."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

_BREAK_AFTER = re.compile(r"([._:/@])(?=.)")


def duration(seconds: float | None) -> str:
    """A duration the way people say it: 850 ms, 4.2 s, 3 m 20 s, 2 h 5 m, 3 d 4 h."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} m"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def rate(per_minute: float | None) -> str:
    """A rate per minute with the figures that matter: '12.5', '0.12', '0.004', '0'."""
    if per_minute is None:
        return "—"
    if per_minute == 0:
        return "0"
    return f"{per_minute:.1f}" if per_minute >= 10 else f"{per_minute:.3g}"


def megabytes(mb: float | None) -> str:
    """Memory in MB below a gigabyte, else in GB: '212.5 MB', '1.4 GB'; '—' when unknown."""
    if mb is None:
        return "—"
    return f"{mb:.1f} MB" if mb < 1024 else f"{mb / 1024:.1f} GB"


def span(seconds: float) -> str:
    """A window's length in words: "1 hour", "24 hours", "7 days"; other lengths as a duration."""
    whole = round(seconds)
    if abs(seconds - whole) < 1e-6 and whole > 0:
        if whole % 86400 == 0 and whole >= 2 * 86400:
            return f"{whole // 86400} days"
        if whole % 3600 == 0:
            hours = whole // 3600
            return "1 hour" if hours == 1 else f"{hours} hours"
        if whole % 60 == 0 and whole < 3600:
            minutes = whole // 60
            return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return duration(seconds)


def when(at: datetime | None) -> str:
    """A UTC time to the second."""
    if at is None:
        return "—"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(at: datetime | None) -> str:
    """The UTC time of day, to the second."""
    return at.astimezone(UTC).strftime("%H:%M:%S UTC") if at else "—"


def iso(at: datetime | None) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else ""


def ago(at: datetime | None, now: datetime | None = None) -> str:
    """How long before now: "3 m 20 s ago", or "in 2 m" for a time still to come."""
    if at is None:
        return "—"
    delta = ((now or datetime.now(UTC)) - at).total_seconds()
    return f"{duration(delta)} ago" if delta >= 0 else f"in {duration(-delta)}"


def pretty_json(value: Any) -> str:
    """Indented JSON for a <pre>."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def sparkline_points(counts: list[int], width: int = 120, height: int = 28) -> str:
    """SVG polyline points for counts, scaled to the box (the highest count touches the top)."""
    if not counts:
        return ""
    top = max(max(counts), 1)
    step = width / max(len(counts) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (count / top) * (height - 4):.1f}" for i, count in enumerate(counts)
    )


def seconds_since(at: datetime | None, now: datetime | None = None) -> float | None:
    """Seconds from `at` to now (never negative), or None."""
    if at is None:
        return None
    return max(((now or datetime.now(UTC)) - at).total_seconds(), 0.0)


def breakable(name: str | None) -> Markup:
    """A name (job, worker, queue) escaped, with line-break opportunities after `.`, `_`, `:`, `/` and `@`,
    so `reports.tasks.generate_monthly_invoice` wraps between its words instead of mid-word."""
    if not name:
        return Markup("—")
    # Escaped first: the only markup added is <wbr>.
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(name))))  # noqa: S704
