"""GET /api/v1/audit: the audit trail, filterable by actor, action, result and time (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from jobdeck.store import audit as audit_rows
from jobdeck.web.api.models import AuditLog
from jobdeck.web.deps import StoreDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditFilters:
    """The audit trail's query parameters."""

    def __init__(
        self,
        actor: Annotated[
            str | None, Query(max_length=200, description="Who: a user, token:NAME or address")
        ] = None,
        action: Annotated[str | None, Query(max_length=64, description="e.g. stop, retry, login")] = None,
        result: Annotated[str | None, Query(max_length=64, description="e.g. accepted, ok, failed")] = None,
        since: Annotated[datetime | None, Query(description="From, ISO 8601 with offset")] = None,
        until: Annotated[datetime | None, Query(description="To, ISO 8601 with offset")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> None:
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise HTTPException(422, f"'{name}' needs a timezone offset, e.g. 2026-01-01T00:00:00Z")
        self.values: dict[str, Any] = {
            "actor": actor,
            "action": action,
            "result": result,
            "since": since,
            "until": until,
            "limit": limit,
        }


def read(store: StoreDep, filters: AuditFilters) -> list[audit_rows.Entry]:
    return audit_rows.entries(store, **filters.values)


@router.get("/audit", response_model=AuditLog, summary="The audit trail")
def audit_log(store: StoreDep, filters: Annotated[AuditFilters, Depends()]) -> dict[str, Any]:
    """Actions, logins and refusals, newest first; every filter given must match."""
    return {"entries": [entry.__dict__ for entry in read(store, filters)]}
