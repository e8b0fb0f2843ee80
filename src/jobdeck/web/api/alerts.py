"""Alerts: GET /api/v1/alerts (firing, pending, recently resolved, history, silences), the rules and
their thresholds, and silences."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import AfterValidator, BaseModel, Field, model_validator

from jobdeck.alerts import silences as silence_rules
from jobdeck.alerts.catalog import BY_NAME, RULES
from jobdeck.store import Store
from jobdeck.store import alerts as store_alerts
from jobdeck.web.deps import RowId, StoreDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
RESOLVED_SHOWN = timedelta(hours=24)


def known_rule(name: str) -> str:
    if name not in BY_NAME:
        raise ValueError(f"unknown rule {name!r}; rules: {', '.join(BY_NAME)}")
    return name


RuleName = Annotated[str, AfterValidator(known_rule)]


class AlertOut(BaseModel):
    rule: str
    severity: str
    subject: str
    state: str
    since: datetime
    value: float | None
    threshold: float | None
    message: str | None
    silenced: bool


class ChangeOut(BaseModel):
    rule: str
    subject: str
    state: str
    at: datetime
    value: float | None
    message: str | None


class SilenceIn(BaseModel):
    """A silence of a rule, a job, both or everything: from `starts_at` (default now) until `ends_at`
    (none: until removed); with `cron` and `duration_s`, only in those recurring windows."""

    rule: RuleName | None = None
    job: str | None = Field(default=None, min_length=1, max_length=200)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cron: str | None = Field(default=None, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    duration_s: int | None = Field(default=None, gt=0, le=7 * 86400)
    comment: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _valid(self) -> SilenceIn:
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"'{name}' needs a timezone offset")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("'ends_at' must be after 'starts_at'")
        if self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timezone {self.timezone!r}") from None
        if self.cron:
            try:
                CronSim(self.cron, datetime.now(UTC))
            except CronSimError as exc:
                raise ValueError(f"'cron' is not a cron expression: {exc}") from None
            if not self.duration_s:
                raise ValueError("a recurring silence ('cron') needs 'duration_s'")
        return self


class SilenceOut(BaseModel):
    id: int
    rule: str | None
    job: str | None
    starts_at: datetime
    ends_at: datetime | None
    cron: str | None
    timezone: str | None
    duration_s: int | None
    comment: str | None
    created_at: datetime
    active: bool


class AlertsOut(BaseModel):
    firing_count: int
    firing: list[AlertOut]
    pending: list[AlertOut]
    resolved: list[AlertOut]
    history: list[ChangeOut]
    silences: list[SilenceOut]


class RuleSetting(BaseModel):
    """A threshold set over a rule's default, for every job (`job` null) or one job or queue."""

    job: str | None = Field(default=None, min_length=1, max_length=200)
    threshold: float | None = None
    hold_s: int | None = Field(default=None, ge=0, le=86400)
    enabled: bool = True


class RuleOut(BaseModel):
    name: str
    severity: str
    unit: str
    threshold: float
    window_s: int
    hold_s: int
    summary: str
    runbook: str
    settings: list[RuleSetting]


def alerts_view(store: Store, now: datetime) -> AlertsOut:
    """Everything the alerts page and API show."""
    with store.read() as conn:
        stored = store_alerts.states(conn)
        silences = store_alerts.silences(conn)
        changes = store_alerts.history(conn)
    by_state: dict[str, list[AlertOut]] = {"firing": [], "pending": [], "resolved": []}
    for row in sorted(stored.values(), key=lambda r: r["since"], reverse=True):
        if row["state"] not in by_state or (
            row["state"] == "resolved" and now - row["since"] > RESOLVED_SHOWN
        ):
            continue
        silenced = silence_rules.silenced(silences, row["rule"], row["subject"], now)
        by_state[row["state"]].append(
            AlertOut(
                severity=BY_NAME[row["rule"]].severity if row["rule"] in BY_NAME else "warning",
                silenced=silenced,
                **{k: row[k] for k in ("rule", "subject", "state", "since", "value", "threshold", "message")},
            )
        )
    return AlertsOut(
        firing_count=len(by_state["firing"]),
        firing=by_state["firing"],
        pending=by_state["pending"],
        resolved=by_state["resolved"],
        history=[ChangeOut(**{k: h[k] for k in ChangeOut.model_fields}) for h in changes],
        silences=[SilenceOut(active=silence_rules.active(s, now), **s) for s in silences],
    )


@router.get("", summary="Alerts firing now, pending, recently resolved; history and silences")
def get_alerts(store: StoreDep) -> AlertsOut:
    return alerts_view(store, datetime.now(UTC))


def rules_view(store: Store) -> list[RuleOut]:
    with store.read() as conn:
        stored = store_alerts.thresholds(conn)
    settings: dict[str, list[RuleSetting]] = {}
    for (rule, job), values in sorted(stored.items()):
        settings.setdefault(rule, []).append(RuleSetting(job=job or None, **values))
    return [
        RuleOut(
            name=r.name,
            severity=r.severity,
            unit=r.unit,
            threshold=r.threshold,
            window_s=r.window_s,
            hold_s=r.hold_s,
            summary=r.summary,
            runbook=r.runbook,
            settings=settings.get(r.name, []),
        )
        for r in RULES
    ]


class RulesOut(BaseModel):
    rules: list[RuleOut]


@router.get("/rules", summary="The rules with their defaults and the thresholds set over them")
def get_rules(store: StoreDep) -> RulesOut:
    return RulesOut(rules=rules_view(store))


def _checked_rule(rule: str) -> str:
    if rule not in BY_NAME:
        detail = [
            {"type": "value_error", "loc": ["path", "rule"], "msg": f"unknown rule {rule!r}", "input": rule}
        ]
        raise HTTPException(422, detail)
    return rule


@router.put("/rules/{rule}", summary="Set a rule's threshold, hold time or switch, globally or per job")
def set_rule(rule: Annotated[str, Path()], body: RuleSetting, store: StoreDep) -> RuleOut:
    """422 for an unknown rule or a threshold that is not a finite number within the rule's range."""
    spec = BY_NAME[_checked_rule(rule)]
    if body.threshold is not None:
        bad = not math.isfinite(body.threshold) or body.threshold < 0
        bad = bad or (
            spec.unit == "ratio"
            and spec.name
            in (
                "BackgroundJobFailing",
                "BackgroundJobCriticalFailureRate",
                "BackgroundJobHighItemFailureRate",
            )
            and body.threshold > 1
        )
        if bad:
            limit = "between 0 and 1" if spec.unit == "ratio" else "a number of at least 0"
            detail = [
                {
                    "type": "value_error",
                    "loc": ["body", "threshold"],
                    "msg": f"threshold must be {limit}",
                    "input": body.threshold,
                }
            ]
            raise HTTPException(422, detail)
    with store.write() as conn:
        store_alerts.set_threshold(conn, rule, body.job or "", body.threshold, body.hold_s, body.enabled)
    return next(r for r in rules_view(store) if r.name == rule)


@router.delete(
    "/rules/{rule}", status_code=204, summary="Back to the default for a rule (globally or for one job)"
)
def reset_rule(rule: str, store: StoreDep, job: Annotated[str | None, Query()] = None) -> Response:
    _checked_rule(rule)
    with store.write() as conn:
        store_alerts.clear_threshold(conn, rule, job or "")
    return Response(status_code=204)


@router.post("/silences", status_code=201, summary="Silence a rule, a job or everything")
def add_silence(body: SilenceIn, store: StoreDep) -> SilenceOut:
    now = datetime.now(UTC)
    values: dict[str, Any] = body.model_dump()
    values["starts_at"] = body.starts_at or now
    values["created_at"] = now
    with store.write() as conn:
        silence_id = store_alerts.add_silence(conn, values)
    return SilenceOut(id=silence_id, active=silence_rules.active(values, now), **values)


@router.delete("/silences/{silence_id}", status_code=204, summary="Remove a silence")
def remove_silence(silence_id: RowId, store: StoreDep) -> Response:
    with store.write() as conn:
        if not store_alerts.remove_silence(conn, silence_id):
            raise HTTPException(404, "no such silence")
    return Response(status_code=204)
