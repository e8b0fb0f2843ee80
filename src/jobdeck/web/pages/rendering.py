"""Rendering the run pages: their templates, the helpers they call, and links under the root path."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from jobdeck.auth.principal import principal_of
from jobdeck.web.pages import formatting

TEMPLATES = Path(__file__).parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)
templates.env.globals["fmt"] = formatting


def path_part(value: str) -> str:
    """A value quoted whole for one part of a URL path: `/`, `%`, `?`, `#`, spaces and the rest
    (Jinja's `urlencode` keeps `/`, which a path part must not)."""
    return quote(value, safe="")


templates.env.filters["path_part"] = path_part


def prefixed(request: Request, path: str) -> str:
    """A link to a path of this app (e.g. another page) under the root path it is served at."""
    return str(request.scope.get("root_path", "")).rstrip("/") + path


_route_paths: dict[tuple[int, str, str, tuple[tuple[str, str], ...]], str] = {}


def route_path(request: Request, name: str, **path: str) -> str:
    """The path of a named route (under the root path), looked up once per app and route: Starlette
    walks every route for each `url_for`, and a page of failure groups makes thousands of links."""
    key = (id(request.app), str(request.scope.get("root_path", "")), name, tuple(sorted(path.items())))
    found = _route_paths.get(key)
    if found is None:
        if len(_route_paths) > 10_000:
            _route_paths.clear()
        found = _route_paths[key] = str(request.url_for(name, **path).path)
    return found


def page_url(request: Request, name: str, params: dict[str, Any] | None = None, **path: str) -> str:
    """The URL of a named route with a query string (empty values left out)."""
    url = route_path(request, name, **path)
    query = [
        (key, item)
        for key, value in (params or {}).items()
        for item in (value if isinstance(value, list | tuple) else [value])
        if item not in (None, "")
    ]
    return f"{url}?{urlencode(query)}" if query else url


def run_url(request: Request, run_id: str) -> str:
    return str(request.url_for("run_detail", run_id=quote(run_id, safe="")).path)


def job_url(request: Request, job: str) -> str:
    """The job's page (any character in the name quoted)."""
    return prefixed(request, "/jobs/" + path_part(job))


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a template with the link helpers bound to this request."""
    context = {
        "prefixed": lambda path: prefixed(request, path),
        "page_url": lambda route, params=None, **kw: page_url(request, route, params, **kw),
        "run_url": lambda run_id: run_url(request, run_id),
        "job_url": lambda job: job_url(request, job),
        "principal": principal_of(request),
        "open_mode": not request.app.state.settings.auth,
        **context,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)
