"""Who is asking: a signed-in user, an API token, or anyone (when jobdeck runs open)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from jobdeck.auth.roles import Role


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: str  # "open", "session" or "token"
    csrf_token: str | None = None  # a session's, for its forms and htmx requests
    session_hash: str | None = None


ANYONE = Principal("open", Role.ADMIN, "open")


def principal_of(request: Request) -> Principal | None:
    """The principal the guard found for this request (None: not signed in)."""
    found = request.scope.get("jobdeck.principal")
    return found if isinstance(found, Principal) else None


def address_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"
