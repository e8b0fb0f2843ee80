"""/audit: the audit trail as a filterable table (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from jobdeck.web.api.audit import AuditFilters, read
from jobdeck.web.deps import StoreDep
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse, name="audit_page")
def audit_page(
    request: Request, store: StoreDep, filters: Annotated[AuditFilters, Depends()]
) -> HTMLResponse:
    """Who did what, when, from where, and the result; newest first."""
    return render(request, "audit.html", {"entries": read(store, filters), "filters": filters.values})
