"""A schedule as users write it (the API's JSON): when it fires, what it runs, and its policies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from jobdeck.scheduler.triggers import Trigger, TriggerError, cron_fields, zone

Name = Annotated[str, Field(min_length=1, max_length=200)]


class CommandTarget(BaseModel):
    """Run a command on this machine (the local executor)."""

    type: Literal["command"]
    command: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    cwd: str | None = None


class PythonTarget(BaseModel):
    """Call `pkg.mod:fn(*args, **kwargs)` in a subprocess, recorded like the SDK records a run."""

    model_config = ConfigDict(extra="forbid")  # (an open model's __init__ would take **kwargs too)

    type: Literal["python"]
    callable: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")]
    args: list[JsonValue] = Field(default_factory=list)
    kwargs: dict[str, JsonValue] = Field(default_factory=dict)


class CeleryTarget(BaseModel):
    """Send a Celery task by name (needs the Celery executor)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["celery"]
    task: Name
    args: list[JsonValue] = Field(default_factory=list)
    kwargs: dict[str, JsonValue] = Field(default_factory=dict)
    queue: str | None = None


class HttpTarget(BaseModel):
    """Call a URL: a 2xx answer is success, anything else a failure."""

    type: Literal["http"]
    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "POST"
    body: JsonValue = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value


Target = Annotated[CommandTarget | PythonTarget | CeleryTarget | HttpTarget, Field(discriminator="type")]


class ScheduleSpec(BaseModel):
    """What a schedule is; `id`, `next_run_at` and the rest of what the store adds are in ScheduleOut."""

    model_config = ConfigDict(extra="ignore")

    name: Name
    job: Name | None = Field(
        default=None,
        description="The job its runs are of (default: the name; a Celery target's task)",
    )
    kind: Literal["once", "interval", "cron"] | None = Field(
        default=None, description="None only for a schedule that fires `after` another job"
    )
    at: AwareDatetime | None = None
    every_s: Annotated[float, Field(gt=0)] | None = None
    cron: str | None = Field(default=None, description="5 fields, or @hourly, @daily, @weekly, …")
    timezone: str = "UTC"
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    max_executions: Annotated[int, Field(ge=1)] | None = None
    paused: bool = False
    misfire: Literal["skip", "once", "catch_up"] = "once"
    misfire_grace_s: Annotated[float, Field(ge=0)] = 60.0
    overlap: Literal["allow", "skip", "queue"] = "allow"
    after: Name | None = Field(default=None, description="Fire when a run of this job succeeds")
    skip_dates: list[date] = Field(default_factory=list)
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    target: Target

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                cron_fields(value)
            except TriggerError as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zone(value)
        except TriggerError as exc:
            raise ValueError(exc.message) from None
        return value

    @property
    def job_name(self) -> str:
        """The job its runs are of: `job`, else a Celery target's task (Celery's events name the
        runs so), else the schedule's name."""
        if isinstance(self.target, CeleryTarget):
            return self.job or self.target.task
        return self.job or self.name

    def trigger(self, anchor: datetime | None = None) -> Trigger | None:
        """Its times as a Trigger (None for a schedule that only follows another job)."""
        if self.kind is None:
            return None
        return Trigger(
            kind=self.kind,
            timezone=self.timezone,
            at=self.at,
            every_s=self.every_s,
            cron=self.cron,
            start_at=self.start_at,
            end_at=self.end_at,
            max_executions=self.max_executions,
            skip_dates=frozenset(self.skip_dates),
            anchor=anchor,
        )

    def check(self) -> None:
        """Raise TriggerError naming the field when the schedule cannot work as a whole."""
        if isinstance(self.target, CeleryTarget) and self.job not in (None, self.target.task):
            raise TriggerError(
                "job",
                f"a Celery target's runs are of its task ({self.target.task!r}: Celery's events name them "
                "so); leave 'job' out or give the task's name",
            )
        if self.kind is None and self.after is None:
            raise TriggerError("kind", "give a kind (once, interval or cron), or 'after' a job")
        trigger = self.trigger()
        if trigger is not None:
            trigger.check()
        elif self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise TriggerError("end_at", "'end_at' must be after 'start_at'")

    def definition(self) -> dict[str, Any]:
        """As stored (JSON)."""
        return self.model_dump(mode="json")
