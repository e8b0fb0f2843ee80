"""Sessions: a random id in a signed cookie, its hash and CSRF token in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from jobdeck.auth import secrets
from jobdeck.store import auth as rows
from jobdeck.store.store import Store

COOKIE = "jobdeck_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Started:
    cookie: str  # the signed value to set
    csrf_token: str


class SessionCookies:
    """Signing and checking session cookies for one app."""

    def __init__(self, secret: str, hours: float) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="jobdeck-session")
        self.lifetime = timedelta(hours=hours)

    def start(self, store: Store, user_id: int) -> Started:
        session_id, csrf = secrets.new_id(), secrets.new_id()
        now = datetime.now(UTC)
        rows.add_session(store, secrets.digest(session_id), user_id, csrf, now, now + self.lifetime)
        return Started(self.serializer.dumps(session_id), csrf)

    def id_of(self, cookie: str) -> str | None:
        """The session id a cookie carries, if its signature holds and it is not too old."""
        try:
            value = self.serializer.loads(cookie, max_age=int(self.lifetime.total_seconds()))
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def find(self, store: Store, cookie: str) -> tuple[str, rows.Session] | None:
        """The live session of a cookie and its id hash."""
        session_id = self.id_of(cookie)
        if session_id is None:
            return None
        id_hash = secrets.digest(session_id)
        found = rows.session_by_hash(store, id_hash, datetime.now(UTC))
        return (id_hash, found) if found else None
