"""Turning Python values into event fields the server accepts: JSON-safe, clipped to its limits."""

from __future__ import annotations

import builtins
import json
import os
import re
import socket
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


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


def captured(value: Any, limit: int = MAX_CAPTURE_CHARS) -> Any:
    """`value` as plain JSON when its JSON text fits in `limit` characters, else that text clipped
    (a string ending in "…")."""
    safe = json_safe(value)
    text = json.dumps(safe, allow_nan=False)
    return safe if len(text) <= limit else clip(text, limit)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MB (None where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
        "error_type": error_type_of(exc),
        "error_message": clip(message, MAX_ERROR_MESSAGE),
        "traceback": keep_end("".join(traceback.format_exception(exc)), MAX_TRACEBACK),
    }


def process_fields(worker: str | None = None) -> dict[str, Any]:
    """Where this run happens: host, pid and worker."""
    host = clip(socket.gethostname() or "localhost", MAX_SHORT)
    pid = os.getpid()
    name = worker or os.environ.get("JOBDECK_WORKER") or f"{host}:{pid}"
    return {"host": host, "pid": pid, "worker": clip(name, MAX_SHORT)}
