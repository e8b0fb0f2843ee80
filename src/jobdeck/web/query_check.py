"""Unknown query parameters on the JSON API are a 422 naming them, never silently ignored: a typo
such as `?stauts=failed` would otherwise answer every run as if it were the filter asked for."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

API_PREFIX = "/api/v1"


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


_known: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def known_query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares, its dependencies' included (by their aliases)."""
    found = _known.get(id(route))
    if found is None or found[0] is not route:
        found = _known[id(route)] = (route, frozenset(_query_names(route.dependant)))
    return found[1]


async def reject_unknown_query(request: Request) -> None:
    """An app-wide dependency: on /api/v1 routes, raise a 422 listing each undeclared query parameter.
    (Async, as the dependencies below: no I/O, so no trip to a worker thread.)"""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.path_format.startswith(API_PREFIX):
        return
    unknown = sorted(set(request.query_params) - known_query_names(route))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": f"Unknown query parameter '{name}'",
                    "input": request.query_params[name],
                }
                for name in unknown
            ]
        )
