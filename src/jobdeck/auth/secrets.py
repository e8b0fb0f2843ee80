"""Random secrets (API tokens, session ids, CSRF tokens) and the hashes they are stored as."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "jd_"  # noqa: S105 (a marker, not a secret)


def new_token() -> str:
    """An API token: 256 random bits, recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_id() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a long random secret: SHA-256 is enough where guessing is hopeless."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())
