"""The audit trail of actions: one log line per stop or retry asked for, done or refused.

A line says who (the client's address and the way in), what (the action, the run, the outcome) and
when. The store's `audit` table comes with users and tokens; until then the log is the record.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

log = logging.getLogger("jobdeck.audit")


def record(action: str, run_id: str, by: str, outcome: str, detail: str = "") -> None:
    """Write one audit line."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    log.info("%s %s run=%r by=%s outcome=%s %s", at, action, run_id, by, outcome, detail)


def make_visible() -> None:
    """Send audit lines to stderr when nothing else handles them (a server that configured no logging),
    so an action is never done without a trace."""
    log.setLevel(logging.INFO)
    if not log.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("audit: %(message)s"))
        log.addHandler(handler)
