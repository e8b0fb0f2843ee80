"""The OpenAPI document as the API behaves: errors as they are answered, on every operation.

FastAPI documents a 422 only where it validates a body or parameter itself, with its own list of
problems as `detail`. jobdeck's routes also answer 422 with one sentence (a bad window, an unknown
query parameter, which every route checks), 404 for an id that names nothing, and 503 when the store
is unreachable. This lays those answers over the generated document, once, so that clients and
schemathesis (tests/integration/test_schemathesis.py) see what the server really does.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = "#/components/schemas/HTTPValidationError"
METHODS = frozenset({"get", "put", "post", "delete", "patch"})
# A `detail` is one sentence, or FastAPI's list of problems (each naming its field).
DETAIL = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
    ],
    "title": "Detail",
}
ANSWERS = {
    "422": "Bad input: `detail` names the field and the problem",
    "503": "The store is unreachable; try again after Retry-After",
}


def error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ERROR}}}}


def lay_over(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the error answers every operation can give (in place; returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ValidationError", _validation_error())
    schemas["HTTPValidationError"] = {
        "type": "object",
        "properties": {"detail": DETAIL},
        "title": "HTTPValidationError",
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ANSWERS.items():
                responses.setdefault(status, error(description))
            if "{" in path:
                responses.setdefault("404", error("Nothing has this id or name"))
    return document


def install(app: FastAPI) -> None:
    """Make the app's /openapi.json the laid-over document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = lay_over(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _validation_error() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "title": "ValidationError",
    }
