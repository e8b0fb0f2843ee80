"""The audit trail of actions: stops, retries, logins, user and token changes, done or refused.

Each entry says who (a user, a token, or the address of an open server's visitor), from where, what
(the action and its target), when and the result. It is written to the store's `audit_log` when a
store is given, and always as a log line, so an action is never done without a trace.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from jobdeck.store import audit as audit_rows
from jobdeck.store.store import Store

log = logging.getLogger("jobdeck.audit")


def record(
    action: str,
    target: str,
    by: str,
    outcome: str,
    detail: str = "",
    *,
    store: Store | None = None,
    address: str = "",
) -> None:
    """Write one audit entry: a log line, and a row when a store is given (a failed write is logged)."""
    at = datetime.now(UTC)
    log.info(
        "%s %s run=%r by=%s outcome=%s %s",
        at.isoformat(timespec="seconds"),
        action,
        target,
        by,
        outcome,
        detail,
    )
    if store is None:
        return
    entry = audit_rows.Entry(0, at, by[:200], address[:100], action[:64], target[:400], outcome[:64], detail)
    try:
        audit_rows.add(store, entry)
    except Exception:  # the log line above still holds it
        log.exception("the audit entry for %s %r could not be stored", action, target)


def make_visible() -> None:
    """Send audit lines to stderr when nothing else handles them (a server that configured no logging),
    so an action is never done without a trace."""
    log.setLevel(logging.INFO)
    if not log.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("audit: %(message)s"))
        log.addHandler(handler)
