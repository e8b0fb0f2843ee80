"""Notification channels: one module per kind, each with `send(target, payload, settings)`.

A send raises DeliveryError (or any OSError/HTTP error) when the message did not get through; the
sender records it on the delivery and retries with backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobdeck.config import Settings

Send = Callable[[str, Mapping[str, Any], Settings], None]
KINDS = ("webhook", "slack", "email")


class DeliveryError(Exception):
    """A notification that did not get through, with what went wrong."""


def sender_for(kind: str) -> Send:
    """The send function of a channel kind."""
    from jobdeck.alerts.channels import email, slack, webhook

    senders: dict[str, Send] = {"webhook": webhook.send, "slack": slack.send, "email": email.send}
    return senders[kind]


def headline(payload: Mapping[str, Any]) -> str:
    """One line for a notification: state, rule, subject and the figure."""
    state = (
        "FIRING" if payload["event"] == "firing" else "RESOLVED" if payload["event"] == "resolved" else "TEST"
    )
    subject = f"job {payload['job']}" if payload.get("job") else f"queue {payload.get('queue')}"
    return f"[{state}] {payload['rule']} on {subject}: {payload['figure']}"
