"""Slack incoming webhooks: a message with the headline, the details and a link to the job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobdeck.alerts.channels.base import headline
from jobdeck.alerts.channels.webhook import post_json
from jobdeck.config import Settings


def message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook body: `text` for notifications, blocks for the message itself."""
    title = headline(payload)
    details = f"{payload['summary']}\n{payload['message']}\n<{payload['url']}|Open in jobdeck>"
    return {
        "text": title,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": details}},
        ],
    }


def send(target: str, payload: Mapping[str, Any], settings: Settings) -> None:
    post_json(target, message(payload))
