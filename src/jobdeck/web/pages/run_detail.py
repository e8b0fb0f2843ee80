"""One run, whole: /runs/{run_id}."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from jobdeck.store import runs as run_rows
from jobdeck.store.chain import retry_chain
from jobdeck.web.api.control import ControlDep
from jobdeck.web.deps import StoreDep
from jobdeck.web.pages.control import with_actions
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/runs/{run_id:path}", response_class=HTMLResponse, name="run_detail")
def run_detail(request: Request, store: StoreDep, control: ControlDep, run_id: str) -> HTMLResponse:
    """Every field of a run, its chain of retries, its traceback, and what can be done to it."""
    with store.read() as conn:
        run = run_rows.get_run(conn, run_id)
        chain = retry_chain(conn, run_id) if run is not None else []
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
        "actions": control.actions_for(run),
    }
    return render(request, "run_detail.html", with_actions(request, context))
