"""When a schedule fires: once at a time, every N seconds, or by a cron expression in a time zone.

Pure functions, no I/O. Cron follows Debian cron across daylight-saving changes through cronsim: a
daily time missing on the day of a spring gap fires once right after the gap, a daily time in an
autumn's repeated hour fires once, and hourly or finer expressions keep their real cadence. Every
kind honours `start_at`, `end_at`, `max_executions` and `skip_dates` (local dates it does not fire on).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

KINDS = ("once", "interval", "cron")

# The @-names cron accepts, as the five fields they stand for.
NAMED = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class TriggerError(ValueError):
    """A trigger that cannot work; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def cron_fields(expression: str) -> str:
    """The five fields of a cron expression (an @-name expanded); raise TriggerError if it is not one."""
    text = " ".join(expression.split())
    text = NAMED.get(text.lower(), text)
    if len(text.split()) != 5:
        raise TriggerError("cron", f"{expression!r} is not a cron expression of 5 fields or an @-name")
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise TriggerError("cron", f"{expression!r} is not a valid cron expression: {exc}") from None
    return text


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; raise TriggerError if there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TriggerError("timezone", f"{name!r} is not a known IANA time zone") from None


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise TriggerError(name, f"'{name}' needs a timezone offset, e.g. 2026-01-01T00:00:00Z")


@dataclass(frozen=True)
class Trigger:
    """The times a schedule fires. `anchor` is where an interval counts from when it has no
    `start_at` (the schedule's creation)."""

    kind: str
    timezone: str = "UTC"
    at: datetime | None = None
    every_s: float | None = None
    cron: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    max_executions: int | None = None
    skip_dates: frozenset[date] = field(default_factory=frozenset)
    anchor: datetime | None = None

    def check(self) -> None:
        """Raise TriggerError naming the field when the trigger cannot work."""
        if self.kind not in KINDS:
            raise TriggerError("kind", f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        zone(self.timezone)
        for name in ("at", "start_at", "end_at", "anchor"):
            _aware(name, getattr(self, name))
        if self.kind == "once" and self.at is None:
            raise TriggerError("at", "a schedule of kind 'once' needs 'at'")
        if self.kind == "interval" and (self.every_s is None or not self.every_s > 0):
            raise TriggerError("every_s", "a schedule of kind 'interval' needs 'every_s' greater than 0")
        if self.kind == "cron":
            if self.cron is None:
                raise TriggerError("cron", "a schedule of kind 'cron' needs 'cron'")
            cron_fields(self.cron)
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise TriggerError("end_at", "'end_at' must be after 'start_at'")
        if self.max_executions is not None and self.max_executions < 1:
            raise TriggerError("max_executions", "'max_executions' must be at least 1")

    def first(self, since: datetime, executions: int = 0) -> datetime | None:
        """The first fire time from `since` on (a schedule's creation, or an edit or resume): a
        `once` in the past is returned as it is, overdue, for the misfire policy to judge."""
        if self.kind == "once":
            return self._allowed(self.at, executions)
        if self.start_at is not None and self.start_at >= since:
            return self._next(self.start_at, inclusive=True, executions=executions)
        return self._next(since, inclusive=False, executions=executions)

    def next_after(self, after: datetime, executions: int = 0) -> datetime | None:
        """The first fire time strictly after `after`, once `executions` firings have happened; None
        when there is none (ended, the last execution done, or a `once` already past)."""
        if self.kind == "once":
            return self._allowed(self.at, executions) if self.at is not None and self.at > after else None
        return self._next(after, inclusive=False, executions=executions)

    def upcoming(self, after: datetime, count: int, executions: int = 0) -> list[datetime]:
        """The next `count` fire times strictly after `after`."""
        times: list[datetime] = []
        current: datetime | None = after
        while current is not None and len(times) < count:
            current = self.next_after(current, executions + len(times))
            if current is not None:
                times.append(current)
        return times

    # --- the times, then the limits --------------------------------------------------------------

    def _allowed(self, at: datetime | None, executions: int) -> datetime | None:
        if at is None or executions >= 1 or self._spent(executions) or self._ended(at):
            return None  # a `once` fires one time
        if self.start_at is not None and at < self.start_at:
            return None
        return None if self._skipped(at) else at

    def _spent(self, executions: int) -> bool:
        return self.max_executions is not None and executions >= self.max_executions

    def _ended(self, at: datetime) -> bool:
        return self.end_at is not None and at > self.end_at

    def _skipped(self, at: datetime) -> bool:
        return bool(self.skip_dates) and at.astimezone(zone(self.timezone)).date() in self.skip_dates

    def _next(self, after: datetime, inclusive: bool, executions: int) -> datetime | None:
        if self._spent(executions):
            return None
        if self.start_at is not None and after < self.start_at:
            after, inclusive = self.start_at, True
        # A skipped date is jumped over whole, so the loop turns once per skipped date at most.
        for _ in range(len(self.skip_dates) + 1):
            candidate = next(self._raw(after, inclusive), None)
            if candidate is None or self._ended(candidate):
                return None
            if not self._skipped(candidate):
                return candidate
            tz = zone(self.timezone)
            next_day = candidate.astimezone(tz).date() + timedelta(days=1)
            after, inclusive = datetime.combine(next_day, time(0), tzinfo=tz).astimezone(UTC), True
        return None

    def _raw(self, after: datetime, inclusive: bool) -> Iterator[datetime]:
        """Fire times from `after` on (including it when `inclusive`), before any limit, in UTC."""
        if self.kind == "interval":
            assert self.every_s is not None
            yield self._interval_next(after, inclusive)
            return
        assert self.cron is not None
        if inclusive:  # cronsim starts one whole second after where it is put
            after = after.replace(microsecond=0) + timedelta(seconds=1 if after.microsecond else 0)
            after -= timedelta(seconds=1)
        start = after
        for moment in CronSim(cron_fields(self.cron), start.astimezone(zone(self.timezone))):
            yield moment.astimezone(UTC)

    def _interval_next(self, after: datetime, inclusive: bool) -> datetime:
        assert self.every_s is not None
        anchor = self.start_at or self.anchor or after
        step = max(1, round(self.every_s * 1_000_000))
        elapsed = _micros(after - anchor)
        if elapsed < 0:
            return anchor
        k, rest = divmod(elapsed, step)
        if not (inclusive and rest == 0):
            k += 1
        return anchor + timedelta(microseconds=k * step)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
