"""One check of every query and path parameter before any route reads it: no control characters.

A NUL cannot be stored or searched (PostgreSQL refuses it in text, SQLite's query parser stops at
it) and no job name, run id or filter the ingest accepts holds a control character, so such a
parameter is bad input: 422 naming it, before the store is asked and before a download's first byte.
The app installs this as a dependency of every route.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _problem(where: str, name: str, value: str) -> dict[str, object]:
    found = CONTROL.search(value)
    char = found.group() if found else ""
    return {
        "type": "control_character",
        "loc": (where, name),
        "msg": f"must not contain control characters (found {char!r})",
        "input": value,
    }


async def no_control_characters(request: Request) -> None:
    """Refuse a query or path parameter holding a control character (422 naming it). (Async: every
    request runs it, and FastAPI runs a plain function in a worker thread, a trip each way.)"""
    problems = [
        _problem("path", name, value)
        for name, value in request.path_params.items()
        if isinstance(value, str) and CONTROL.search(value)
    ]
    for name, value in request.query_params.multi_items():
        if CONTROL.search(name) or CONTROL.search(value):
            problems.append(_problem("query", name, value if CONTROL.search(value) else name))
    if problems:
        raise RequestValidationError(problems)
