"""Reading an RQ job's hash with RQ's field names, without unpickling anything: its times, the function
it calls (from its description), and its error (from the latest result, RQ >= 2, or `exc_info`)."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime


def text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def rq_time(value: str | None) -> datetime | None:
    """RQ's `2026-12-05T07:05:34.123456Z` as a time (None when absent or malformed)."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def job_name(description: str | None) -> str:
    """The function an RQ job calls, from its description `tasks.add(1, 2)`."""
    name = (description or "").split("(", 1)[0].strip()
    return (name or "(unnamed)")[:200]


def exc_text(raw: str | None, base64_zlib: bool) -> str | None:
    if not raw:
        return None
    try:
        data = base64.b64decode(raw) if base64_zlib else raw.encode("latin-1")
        return zlib.decompress(data).decode("utf-8", "replace")
    except (ValueError, zlib.error, UnicodeEncodeError):
        return raw


def error_of(traceback: str | None) -> tuple[str | None, str | None]:
    """(type, message) from a Python traceback's last line `ZeroDivisionError: division by zero`."""
    last = (traceback or "").strip().splitlines()[-1:] or [""]
    kind, _, message = last[0].partition(":")
    kind = kind.strip()
    if not kind or " " in kind:
        return None, last[0][:10_000] or None
    return kind[:500], message.strip()[:10_000] or None


def latest_traceback(fields: dict[str, str], latest: dict[str, str] | None) -> str | None:
    """The traceback of the job's latest failure: its latest result's, else the hash's `exc_info`."""
    return exc_text((latest or {}).get("exc_string"), True) or exc_text(fields.get("exc_info"), False)
