"""Roles and what each may do: viewer reads, operator also acts on runs and schedules, admin also manages
users, tokens, channels and purges; an ingest token only posts events and pings."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    INGEST = "ingest"


class Need(StrEnum):
    """What a route needs: nothing (open), or a role that includes it."""

    OPEN = "open"
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    INGEST = "ingest"


USER_ROLES = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
TOKEN_ROLES = (*USER_ROLES, Role.INGEST)

# The roles that satisfy each need.
GRANTS: dict[Need, frozenset[Role]] = {
    Need.OPEN: frozenset(Role),
    Need.VIEWER: frozenset({Role.VIEWER, Role.OPERATOR, Role.ADMIN}),
    Need.OPERATOR: frozenset({Role.OPERATOR, Role.ADMIN}),
    Need.ADMIN: frozenset({Role.ADMIN}),
    Need.INGEST: frozenset({Role.INGEST, Role.OPERATOR, Role.ADMIN}),
}


def allows(role: Role, need: Need) -> bool:
    return role in GRANTS[need]
