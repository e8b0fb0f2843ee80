"""Errors a person meets in the browser answer as pages: a bad query string (`/runs?status=bogus`,
`/failures?hours=0`) or an unknown job is an HTML page that says what was wrong and where to go,
with the same status code. The JSON API (/api/…) keeps its JSON errors."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from jobdeck.web.pages.rendering import render

TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed", 422: "Not understood"}


def _wants_json(request: Request) -> bool:
    """The API, the htmx fragments (their callers read the JSON detail) and static files answer
    as before."""
    path = request.url.path[len(str(request.scope.get("root_path", "")).rstrip("/")) :]
    return path.startswith(("/api/", "/fragments/", "/static/", "/openapi", "/ping/")) or path in (
        "/metrics",
        "/healthz",
    )


def _messages(errors: Any) -> list[str]:
    """Validation errors as sentences: "status: Input should be 'pending', 'running', …"."""
    out = []
    for error in errors:
        where = [
            str(part)
            for part in error.get("loc", ())
            if part not in ("query", "path", "body") and not isinstance(part, int)
        ]
        out.append(f"{'.'.join(where)}: {error.get('msg', 'not valid')}" if where else str(error.get("msg")))
    return out


def error_page(request: Request, status: int, messages: list[str]) -> HTMLResponse:
    """An HTML page for an error, its status code kept."""
    context = {"status": status, "title": TITLES.get(status, "Something went wrong"), "messages": messages}
    return render(request, "error.html", context, status_code=status)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _wants_json(request):
        return await request_validation_exception_handler(request, exc)
    return error_page(request, 422, _messages(exc.errors()))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _wants_json(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    # Starlette's own "Not Found" says less than the page's default sentence (which names the path).
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != "Not Found" else None
    response = error_page(request, exc.status_code, [detail] if detail else [])
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
