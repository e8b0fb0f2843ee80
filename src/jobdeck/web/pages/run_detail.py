"""One run, whole: /runs/{run_id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from jobdeck.store import runs as run_rows
from jobdeck.store.chain import retry_chain
from jobdeck.web.api.control import ControlDep
from jobdeck.web.deps import StoreDep
from jobdeck.web.pages.control import with_actions
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

# A Celery task's place in a workflow (chain, group, chord), as labels its events or signals carry.
WORKFLOW_LABELS = (
    ("celery.parent_id", "Parent task"),
    ("celery.root_id", "Root task"),
    ("celery.group_id", "Group"),
)


def workflow_links(conn: Connection, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The workflow a Celery run belongs to: its parent and root tasks (linked when stored) and its
    group; empty when its labels say none (or only that it is its own root)."""
    labels = run.get("labels") or {}
    links = []
    for label, name in WORKFLOW_LABELS:
        value = labels.get(label)
        if not value or value == run["run_id"]:
            continue
        stored = label != "celery.group_id" and run_rows.get_run(conn, value) is not None
        links.append({"name": name, "id": value, "stored": stored})
    return links


@router.get("/runs/{run_id:path}", response_class=HTMLResponse, name="run_detail")
def run_detail(request: Request, store: StoreDep, control: ControlDep, run_id: str) -> HTMLResponse:
    """Every field of a run, its chain of retries, its traceback, and what can be done to it."""
    with store.read() as conn:
        run = run_rows.get_run(conn, run_id)
        chain = retry_chain(conn, run_id) if run is not None else []
        workflow = workflow_links(conn, run) if run is not None else []
    if run is None:
        return render(request, "run_detail.html", {"run": None, "run_id": run_id}, status_code=404)
    wait = None
    if run["started_at"] is not None:
        wait = (run["started_at"] - run["created_at"]).total_seconds()
    context = {
        "run": run,
        "run_id": run_id,
        "chain": chain if len(chain) > 1 else [],
        "wait_s": wait,
        "workflow": workflow,
        "actions": control.actions_for(run),
    }
    return render(request, "run_detail.html", with_actions(request, context))
