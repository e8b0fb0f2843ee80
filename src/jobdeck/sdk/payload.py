"""Turning Python values into event fields the server accepts: JSON-safe, clipped to its limits."""

from __future__ import annotations

import builtins
import json
import math
import os
import re
import socket
import sys
import time
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

try:
    import resource as _resource
except ImportError:  # Windows
    _resource = None  # type: ignore[assignment]

MAX_JSON_CHARS = 65_536  # jobdeck.events.MAX_JSON_FIELD_CHARS
# What @track records of a call's arguments and return value, each: bigger values are sent as the
# beginning of their JSON text, so a run carrying a large payload does not bloat every event.
MAX_CAPTURE_CHARS = 4_096
MAX_SHORT = 200
MAX_ERROR_TYPE = 500
MAX_ERROR_MESSAGE = 10_000
MAX_TRACEBACK = 200_000
MAX_LABELS = 50
# No store keeps these in text or JSON (PostgreSQL refuses both): a NUL and a lone UTF-16 surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


_second: tuple[int, str] = (0, "")  # the last whole second now_iso formatted, and its text


def now_iso() -> str:
    """Now in UTC as ISO 8601 with microseconds (`2026-12-05T12:00:00.000001+00:00`)."""
    global _second
    now = time.time_ns() // 1000
    whole, micros = divmod(now, 1_000_000)
    second, text = _second
    if second != whole:
        text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second = (whole, text)
    return f"{text}.{micros:06d}+00:00"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def keep_end(text: str, limit: int) -> str:
    """Keep the end of `text` (a traceback's last frames say the most)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def text_safe(text: str) -> str:
    """`text` with NUL characters and lone surrogates replaced by U+FFFD (its length is kept)."""
    return _UNSTORABLE.sub("\ufffd", text)


def storable(value: Any) -> Any:
    """An event (or any JSON value) with every string, keys included, made `text_safe`."""
    if isinstance(value, str):
        return text_safe(value)
    if isinstance(value, dict):
        return {text_safe(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def json_safe(value: Any) -> Any:
    """`value` as plain JSON; anything JSON cannot hold as it is becomes its (clipped) repr."""
    try:
        text = json.dumps(value, allow_nan=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        return clip(_repr(value), 1000)
    if len(text) > MAX_JSON_CHARS:
        return clip(_repr(value), 1000)
    return json.loads(text)


class CapturedList(list[Any]):
    """A list `captured` made: plain JSON, storable and within the caps (so not checked again)."""


class CapturedDict(dict[str, Any]):
    """A dict `captured` made: plain JSON, storable and within the caps (so not checked again)."""


_ENCODE = json.JSONEncoder(allow_nan=False, default=repr).encode
# Any capture limit holds these whole: an int of up to 19 digits, a float's repr.
_SHORT_NUMBER = 2**63


def captured(value: Any, limit: int = MAX_CAPTURE_CHARS) -> Any:
    """`value` as plain JSON when its JSON text fits in `limit` characters, else that text clipped
    (a string ending in "…"); storable (`storable`) either way.

    A number, a short string, or a short list or dict of those is taken as it is (a list or dict
    copied); anything else is encoded to JSON once, and decoded from that text when it fits (so a
    caller that changes the value later changes nothing sent)."""
    kind = type(value)
    if kind is list or kind is tuple or kind is dict:
        flat = _flat(value, limit)
        if flat is not None:
            return flat
    elif 0 < _scalar_size(value) <= limit:
        return text_safe(value) if kind is str else value
    try:
        text = _ENCODE(value)
    except (TypeError, ValueError, RecursionError):
        text = None
    if text is None or len(text) > MAX_JSON_CHARS:
        safe = clip(_repr(value), 1000)
        text = json.dumps(safe)
        return text_safe(safe) if len(text) <= limit else clip(text, limit)
    if len(text) > limit:
        return clip(text, limit)  # ASCII: JSON text escapes every other character
    decoded = json.loads(text)
    # The text is ASCII, so a NUL or a surrogate shows as an escape (a false alarm only costs a walk).
    if "\\u0000" in text or "\\ud" in text:
        decoded = storable(decoded)
    if type(decoded) is list:
        return CapturedList(decoded)
    if type(decoded) is dict:
        return CapturedDict(decoded)
    return decoded


_FLAT_ITEMS = 32  # past this many, one encoding in C beats looking at each item


def _scalar_size(value: Any) -> int:
    """At least the length of a JSON scalar's text (0: not one, or too long a number to bother)."""
    kind = type(value)
    if kind is int:
        return 20 if -_SHORT_NUMBER < value < _SHORT_NUMBER else 0
    if kind is str:
        return len(value) * 6 + 2  # an escape is at most 6 characters
    if value is None or kind is bool:
        return 5
    if kind is float:
        return 24 if math.isfinite(value) else 0
    return 0


def _flat(value: Any, limit: int) -> CapturedList | CapturedDict | None:
    """A copy of a short list or dict of storable scalars whose JSON surely fits in `limit`
    characters (it is the same as its JSON decoded); None for anything else."""
    if len(value) > _FLAT_ITEMS:
        return None
    unstorable = _UNSTORABLE.search
    size = 2
    if type(value) is dict:
        for key, item in value.items():
            item_size = _scalar_size(item)
            if type(key) is not str or not item_size or unstorable(key):
                return None
            if type(item) is str and unstorable(item):
                return None
            size += len(key) * 6 + item_size + 6
        return CapturedDict(value) if size <= limit else None
    for item in value:
        item_size = _scalar_size(item)
        if not item_size or (type(item) is str and unstorable(item)):
            return None
        size += item_size + 2
    return CapturedList(value) if size <= limit else None


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MB (None where the platform does not say)."""
    if _resource is None:
        return None
    peak = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss
    unit = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return round(peak / unit, 3) if peak > 0 else None


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__qualname__} object>"


def labels_of(labels: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not labels:
        return None
    items = list(labels.items())[:MAX_LABELS]
    return {clip(str(key), 100): clip(str(value), 500) for key, value in items}


def error_type_of(exc: BaseException) -> str:
    """`ValueError` for built-ins, `package.module.Error` for the rest."""
    kind = type(exc)
    if kind.__module__ == builtins.__name__:
        return kind.__qualname__
    return clip(f"{kind.__module__}.{kind.__qualname__}", MAX_ERROR_TYPE)


def error_fields(exc: BaseException) -> dict[str, Any]:
    """The error_* fields and the full traceback (with causes) of an exception."""
    try:
        message = str(exc)
    except Exception:
        message = _repr(exc)
    return {
        "error_type": text_safe(error_type_of(exc)),
        "error_message": text_safe(clip(message, MAX_ERROR_MESSAGE)),
        "traceback": text_safe(keep_end("".join(traceback.format_exception(exc)), MAX_TRACEBACK)),
    }


# This process's pid, host name and JOBDECK_WORKER, read once a process (a fork reads them again).
_process: tuple[int, str, str | None] = (0, "", None)


def process_fields(worker: str | None = None) -> dict[str, Any]:
    """Where this run happens: host, pid and worker."""
    global _process
    pid = os.getpid()
    if _process[0] != pid:
        host = clip(socket.gethostname() or "localhost", MAX_SHORT)
        _process = (pid, host, os.environ.get("JOBDECK_WORKER"))
    _, host, named = _process
    return {"host": host, "pid": pid, "worker": clip(worker or named or f"{host}:{pid}", MAX_SHORT)}
