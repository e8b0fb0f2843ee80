"""Throttling failed logins, per user name and per address, within a sliding window."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginThrottle:
    """Refuses logins for a name or an address that failed too often lately (in this process)."""

    def __init__(self, per_user: int = 5, per_address: int = 20, window_s: float = 900.0) -> None:
        self.limits = {"user": per_user, "address": per_address}
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, user: str, address: str) -> int | None:
        """Seconds until a login may be tried again, or None if it may be tried now."""
        now = time.monotonic()
        waits = []
        with self._lock:
            for kind, value in (("user", user.lower()), ("address", address)):
                times = self._recent((kind, value), now)
                if len(times) >= self.limits[kind]:
                    waits.append(int(times[0] + self.window_s - now) + 1)
        return max(waits) if waits else None

    def failed(self, user: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (("user", user.lower()), ("address", address)):
                self._recent(key, now).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(("user", user.lower()), None)
