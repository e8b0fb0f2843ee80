"""Masking secrets in run args and kwargs before they are stored: the value under any key that
contains one of the configured patterns (`password`, `token`, `secret`, …) becomes MASK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobdeck.events import Event

MASK = "***"
MASKED_FIELDS = ("args", "kwargs")


def mask(value: Any, patterns: Sequence[str]) -> Any:
    """The value with every secret-looking key's value masked, at any depth."""
    if isinstance(value, dict):
        return {
            key: MASK if _secret(str(key), patterns) and item is not None else mask(item, patterns)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask(item, patterns) for item in value]
    return value


def _secret(key: str, patterns: Sequence[str]) -> bool:
    lowered = key.lower()
    return any(p.lower() in lowered for p in patterns if p)


def mask_events(events: list[Event], patterns: Sequence[str]) -> list[Event]:
    """The events with their args and kwargs masked (an event without either is kept as it is)."""
    if not patterns:
        return events
    masked = []
    for event in events:
        if any(field in event.data for field in MASKED_FIELDS):
            data = {k: mask(v, patterns) if k in MASKED_FIELDS else v for k, v in event.data.items()}
            event = event._replace(data=data)
        masked.append(event)
    return masked
