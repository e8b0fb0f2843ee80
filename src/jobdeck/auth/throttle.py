"""Throttling failed logins, per user name and per address, within a sliding window.

The failures are the audit trail's (every failed login is an entry), so the count is the same in
every worker process and every replica on one store: starting more workers does not buy an attacker
more guesses, and a restart does not forgive them. A successful login clears its user's count.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobdeck.store import audit as audit_rows
from jobdeck.store.store import Store


class LoginThrottle:
    """Refuses logins for a name or an address that failed too often lately."""

    def __init__(
        self, store: Store, per_user: int = 5, per_address: int = 20, window_s: float = 900.0
    ) -> None:
        self.store = store
        self.limits = {"user": per_user, "address": per_address}
        self.window = timedelta(seconds=window_s)

    def retry_after(self, user: str, address: str, now: datetime | None = None) -> int | None:
        """Seconds until a login may be tried again, or None if it may be tried now."""
        now = now or datetime.now(UTC)
        since = now - self.window
        waits = []
        for kind, times in (
            ("user", audit_rows.failed_logins(self.store, since, user=user)),
            ("address", audit_rows.failed_logins(self.store, since, address=address)),
        ):
            limit = self.limits[kind]
            if len(times) >= limit:
                # Free again when the oldest of the last `limit` failures leaves the window.
                waits.append(int((times[-limit] + self.window - now).total_seconds()) + 1)
        return max(waits) if waits else None
