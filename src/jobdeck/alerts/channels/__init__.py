"""Notification channels: one module per kind, each with `send(target, payload, settings)`.

A send raises DeliveryError (or an OSError) when the message did not get through; the sender
records it on the delivery and retries with backoff.
"""

from __future__ import annotations

from jobdeck.alerts.channels import email, slack, webhook
from jobdeck.alerts.channels.base import DeliveryError, Send, headline

KINDS = ("webhook", "slack", "email")
SENDERS: dict[str, Send] = {"webhook": webhook.send, "slack": slack.send, "email": email.send}

__all__ = ["KINDS", "SENDERS", "DeliveryError", "Send", "headline", "sender_for"]


def sender_for(kind: str) -> Send:
    """The send function of a channel kind."""
    return SENDERS[kind]
