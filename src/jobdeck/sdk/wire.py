"""A cheap check of an event against the server's event model (`jobdeck.events.EventIn`), field by field.

The SDK builds most of an event itself, so checking each one with the pydantic model cost more than
building it. `acceptable(event)` answers True only when every field certainly passes the model as
the server reads it (strict JSON) and is storable as it is (no NUL, no lone surrogate); when unsure
it answers False, and the event takes the full check (`client.checked`), which drops what the
server would refuse and says why. A test holds the table below to the model's fields.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jobdeck.domain import EventKind
from jobdeck.sdk.payload import MAX_JSON_CHARS, CapturedDict, CapturedList

Check = Callable[[Any], bool]

# ShortText: 1 to 200 characters, no control character (NUL and lone surrogates are not storable).
# The server trims whitespace first, so a value that starts or ends with some (Unicode's White_Space,
# which the server trims) takes the full check.
_CONTROL = "\x00-\x1f\x7f\ud800-\udfff"
_SPACE = " \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_EDGE = f"[^{_CONTROL}{_SPACE}]"
_SHORT = re.compile(f"{_EDGE}(?:[^{_CONTROL}]{{0,198}}{_EDGE})?")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)
_KINDS = frozenset(kind.value for kind in EventKind)
_INT32 = 2**31 - 1
_JSON_INT = MAX_COUNT = 2**53  # the largest count the server takes
_BIG_INT = 2**63  # past this a JSON value's integer takes the full check


def _short(value: Any) -> bool:
    return type(value) is str and _SHORT.fullmatch(value) is not None


_NAMES: set[str] = set()  # names that passed: a process reports the same few jobs, queues and workers
_MAX_NAMES = 4096


def _name(value: Any) -> bool:
    """`_short`, remembering the values that pass."""
    if type(value) is not str:
        return False
    if value in _NAMES:
        return True
    if _SHORT.fullmatch(value) is None:
        return False
    if len(_NAMES) >= _MAX_NAMES:
        _NAMES.clear()
    _NAMES.add(value)
    return True


def _text(limit: int) -> Check:
    def check(value: Any) -> bool:
        return type(value) is str and len(value) <= limit and _UNSTORABLE.search(value) is None

    return check


def _int(low: int, high: int) -> Check:
    def check(value: Any) -> bool:
        return type(value) is int and low <= value <= high

    return check


def _amount(value: Any) -> bool:
    return type(value) is float and 0.0 <= value <= 1e9


def _time(value: Any) -> bool:
    """An aware ISO 8601 time well inside the years the server takes (1900 to 2500)."""
    if type(value) is not str or _TIME.fullmatch(value) is None:
        return False
    try:
        return 1901 <= datetime.fromisoformat(value).year <= 2498
    except ValueError:
        return False


def _kind(value: Any) -> bool:
    return type(value) is str and value in _KINDS


def _labels(value: Any) -> bool:
    if type(value) is not dict or len(value) > 50:
        return False
    storable = _UNSTORABLE.search
    return all(
        type(key) is str
        and type(text) is str
        and len(key) <= 100
        and len(text) <= 500
        and storable(key) is None
        and storable(text) is None
        for key, text in value.items()
    )


def _json(value: Any) -> bool:
    """A JSON field: captured by `payload.captured` (checked as it was captured), or a plain scalar."""
    kind = type(value)
    if kind is CapturedList or kind is CapturedDict or value is None or kind is bool:
        return True
    if kind is int:
        return bool(-_BIG_INT < value < _BIG_INT)
    if kind is float:
        return math.isfinite(value)
    if kind is str:
        return len(value) * 6 + 2 <= MAX_JSON_CHARS and _UNSTORABLE.search(value) is None
    return False


def _duration(value: Any) -> bool:
    return (type(value) is str and len(value) <= 32 and _UNSTORABLE.search(value) is None) or (
        type(value) is float and math.isfinite(value)
    )


_count = _int(0, _JSON_INT)
CHECKS: dict[str, Check] = {
    "run_id": _short,
    "event": _kind,
    "job": _name,
    "at": _time,
    "queue": _name,
    "priority": _int(-(2**31), _INT32),
    "source": _name,
    "worker": _name,
    "host": _name,
    "pid": _int(0, _INT32),
    "eta": _time,
    "attempt": _int(1, 10_000),
    "max_retries": _int(0, 10_000),
    "parent_run_id": _short,
    "schedule_id": _short,
    "args": _json,
    "kwargs": _json,
    "result": _json,
    "error_type": _text(500),
    "error_message": _text(10_000),
    "traceback": _text(200_000),
    "items_succeeded": _count,
    "items_failed": _count,
    "items_skipped": _count,
    "cpu_s": _amount,
    "max_rss_mb": _amount,
    "labels": _labels,
    "schedule": _text(100),
    "timezone": _text(64),
    "grace": _duration,
    "max_runtime": _duration,
}
_REQUIRED = ("run_id", "event")


def acceptable(event: dict[str, Any]) -> bool:
    """True if the server takes `event` as it is; False if unsure (then check it fully)."""
    if type(event) is not dict or "run_id" not in event or "event" not in event:
        return False
    checks = CHECKS
    for name, value in event.items():
        check = checks.get(name)
        if check is None:
            return False
        if value is None:
            if name in _REQUIRED:
                return False
            continue
        if not check(value):
            return False
    return True
