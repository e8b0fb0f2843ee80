"""A generic webhook: the notification as JSON in a POST."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from jobdeck.alerts.channels.base import DeliveryError
from jobdeck.config import Settings

TIMEOUT_S = 10.0


def post_json(url: str, body: Mapping[str, Any]) -> None:
    """POST `body`; anything but a 2xx answer is a failed delivery."""
    try:
        response = httpx2.post(url, json=body, timeout=TIMEOUT_S)
    except httpx2.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")


def send(target: str, payload: Mapping[str, Any], settings: Settings) -> None:
    post_json(target, payload)
