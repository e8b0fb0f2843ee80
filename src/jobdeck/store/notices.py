"""Change notices between replicas on PostgreSQL: NOTIFY on the `jobdeck_changes` channel after a
commit, and LISTEN on it with a connection that comes back by itself.

While the LISTEN connection is down, each change of state is one log line (down, with the back-off;
back, with the attempts it took), not a traceback per attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import text

from jobdeck.store.store import Store

log = logging.getLogger(__name__)

CHANNEL = "jobdeck_changes"
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 30.0
CONNECT_TIMEOUT_S = 10


def notify(store: Store, change: Mapping[str, Any]) -> None:
    """Tell every listening replica about a change (a JSON object, under 8,000 bytes)."""
    # A statement of its own (autocommit): no BEGIN and COMMIT, two round trips fewer a batch.
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": json.dumps(change)}
        )


def retry_delay(failures: int) -> float:
    """Seconds to wait after `failures` failed attempts in a row: doubling up to `MAX_RETRY_S`, each
    wait jittered down by up to a half so that replicas do not reconnect in step."""
    # Jitter, not a secret: `random` is the right tool (S311).
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2.0 ** (failures - 1)) * random.uniform(0.5, 1.0)  # noqa: S311


async def listen(store: Store) -> AsyncIterator[dict[str, Any]]:
    """Every notice on the channel, decoded (a payload that is not a JSON object is skipped), for as
    long as the caller iterates; a lost connection is reconnected with a jittered back-off."""
    import psycopg

    url = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    failures, down_since = 0, 0.0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                if failures:  # a warning like the line that said it was down, so both show
                    down_s = time.monotonic() - down_since
                    log.warning("LISTEN on %s is back after %.1f s down", CHANNEL, down_s)
                failures = 0
                async for notice in conn.notifies():
                    change = _decoded(notice.payload)
                    if change is not None:
                        yield change
        except psycopg.OperationalError as exc:
            failures += 1
            delay = retry_delay(failures)
            if failures == 1:
                down_since = time.monotonic()
                log.warning(
                    "LISTEN on %s is down (%s); retrying after %.1f s, doubling up to %.0f s "
                    "(meanwhile other replicas' changes arrive by the change check)",
                    CHANNEL,
                    " ".join(str(exc).split()) or type(exc).__name__,
                    delay,
                    MAX_RETRY_S,
                )
            else:
                log.debug("LISTEN attempt %d failed (%s); next in %.1f s", failures, exc, delay)
            await asyncio.sleep(delay)


def _decoded(payload: str) -> dict[str, Any] | None:
    try:
        change = json.loads(payload)
    except ValueError:
        return None
    return change if isinstance(change, dict) else None
