"""The sender: `run_once` sends the deliveries that are due, and retries failed ones with backoff."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jobdeck.alerts.channels import DeliveryError, sender_for
from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.store import channels as store_channels

log = logging.getLogger(__name__)

# Seconds before each retry; after the last one the delivery is failed for good.
BACKOFF_S = (30.0, 120.0, 600.0, 1800.0)
LEASE_S = 120.0


def retry_delay(attempts: int) -> float | None:
    """Seconds before the next attempt after `attempts` failed ones (with ±10 % jitter), or None."""
    if attempts > len(BACKOFF_S):
        return None
    # Jitter only spreads retries out: nothing secret depends on it.
    return BACKOFF_S[attempts - 1] * random.uniform(0.9, 1.1)  # noqa: S311


@dataclass
class Sent:
    """What one `run_once` did."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.failed)


class Sender:
    """Works through the outbox of deliveries; safe with several replicas (each claims a delivery)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def run_once(self, now: datetime | None = None) -> Sent:
        now = now or datetime.now(UTC)
        result = Sent()
        with self.store.read() as conn:
            due = store_channels.due(conn, now)
        for delivery in due:
            outcome = self._send(delivery, now)
            if outcome is not None:
                (result.sent if outcome else result.failed).append(delivery["id"])
        return result

    def send_one(self, delivery_id: int, now: datetime) -> bool | None:
        """Send one due delivery now (a channel's test message)."""
        with self.store.read() as conn:
            due = [d for d in store_channels.due(conn, now) if d["id"] == delivery_id]
        return self._send(due[0], now) if due else None

    def _send(self, delivery: dict[str, Any], now: datetime) -> bool | None:
        """True when sent, False when the attempt failed, None when another replica took it."""
        lease_until = now + timedelta(seconds=LEASE_S)
        with self.store.write() as conn:
            if not store_channels.claim(conn, delivery["id"], delivery["next_at"], lease_until):
                return None
        try:
            sender_for(delivery["type"])(delivery["target"], delivery["payload"], self.settings)
        except (DeliveryError, OSError) as exc:
            self._failed(delivery, str(exc) or type(exc).__name__, now)
            return False
        with self.store.write() as conn:
            store_channels.sent(conn, delivery["id"], datetime.now(UTC))
        return True

    def _failed(self, delivery: dict[str, Any], error: str, now: datetime) -> None:
        attempts = int(delivery["attempts"]) + 1
        delay = retry_delay(attempts)
        retry_at = None if delay is None else now + timedelta(seconds=delay)
        log.warning(
            "delivery %s to %s failed (attempt %d): %s", delivery["id"], delivery["name"], attempts, error
        )
        with self.store.write() as conn:
            store_channels.attempt_failed(conn, int(delivery["id"]), error, retry_at)
