"""What every channel shares: the send signature, the error of a failed delivery, the headline."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobdeck.config import Settings

Send = Callable[[str, Mapping[str, Any], Settings], None]


class DeliveryError(Exception):
    """A notification that did not get through, with what went wrong."""


def headline(payload: Mapping[str, Any]) -> str:
    """One line for a notification: state, rule, subject and the figure."""
    state = (
        "FIRING" if payload["event"] == "firing" else "RESOLVED" if payload["event"] == "resolved" else "TEST"
    )
    subject = f"job {payload['job']}" if payload.get("job") else f"queue {payload.get('queue')}"
    return f"[{state}] {payload['rule']} on {subject}: {payload['figure']}"
