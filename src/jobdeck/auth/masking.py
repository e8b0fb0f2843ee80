"""Masking secrets in run args and kwargs before they are stored: the value under any key that
contains one of the configured patterns (`password`, `token`, `secret`, …) becomes MASK.

The recorder masks every batch it writes, so that every way in (HTTP, the SDK straight into a store,
an import, Celery, pings, a jobs table) is masked alike; the HTTP ingest masks first as well, so that
the sealed-field check compares masked values with the masked values stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from jobdeck.events import Event, RunState

MASK = "***"
MASKED_FIELDS = ("args", "kwargs")
# Key parts whose values are masked unless configured otherwise (Settings.mask_keys).
DEFAULT_KEYS = (
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "credential",
    "private_key",
    "cookie",
    "session",
)


def mask(value: Any, patterns: Sequence[str]) -> Any:
    """The value with every secret-looking key's value masked, at any depth."""
    if isinstance(value, dict):
        return {
            key: MASK if _secret(str(key), patterns) and item is not None else mask(item, patterns)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return _mask_list(value, patterns)
    return value


def _mask_list(items: list[Any], patterns: Sequence[str]) -> list[Any]:
    """A list's items masked; in a command line, `--password=x` or `token=x` keeps its key, and the
    item after a bare `--password` is masked."""
    masked: list[Any] = []
    after_flag = False
    for item in items:
        if after_flag and isinstance(item, str):
            masked.append(MASK)
            after_flag = False
            continue
        after_flag = False
        if isinstance(item, str):
            key, sep, _ = item.partition("=")
            if sep and key and _secret(key, patterns):
                masked.append(f"{key}={MASK}")
                continue
            after_flag = item.startswith("-") and not sep and _secret(item, patterns)
            masked.append(item)
            continue
        masked.append(mask(item, patterns))
    return masked


def _secret(key: str, patterns: Sequence[str]) -> bool:
    lowered = key.lower()
    return any(p.lower() in lowered for p in patterns if p)


def mask_events(events: list[Event], patterns: Sequence[str]) -> list[Event]:
    """The events with their args and kwargs masked (an event without either is kept as it is)."""
    if not patterns:
        return events
    masked = []
    fields = frozenset(MASKED_FIELDS)
    for event in events:
        if not fields.isdisjoint(event.data):
            data = {k: mask(v, patterns) if k in MASKED_FIELDS else v for k, v in event.data.items()}
            event = event._replace(data=data)
        masked.append(event)
    return masked


def mask_folded(
    folded: Mapping[str, tuple[RunState, int]], patterns: Sequence[str]
) -> dict[str, tuple[RunState, int]]:
    """Runs folded already (an import's) with their args and kwargs masked."""
    masked = {}
    for run_id, (state, count) in folded.items():
        if patterns and any(field in state.fields for field in MASKED_FIELDS):
            fields = {k: mask(v, patterns) if k in MASKED_FIELDS else v for k, v in state.fields.items()}
            state = dataclasses.replace(state, fields=fields)
        masked[run_id] = (state, count)
    return masked
