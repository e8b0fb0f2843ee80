"""Failures the demo's jobs meet, with tracebacks shaped like real Python ones.

Each kind of failure is a function of a random generator, so ids, counts and line numbers vary from
one occurrence to the next the way they do in production, while the failure group stays the same.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SITE = "/usr/local/lib/python3.12/site-packages"
CELERY_FRAMES = (
    (f"{SITE}/celery/app/trace.py", 453, "trace_task", "R = retval = fun(*args, **kwargs)"),
    (f"{SITE}/celery/app/trace.py", 736, "__protected_call__", "return self.run(*args, **kwargs)"),
)

Frame = tuple[str, int, str, str]


@dataclass(frozen=True)
class Failure:
    """What a failed run reports: the exception's type, its message and the formatted traceback."""

    error_type: str
    message: str
    traceback: str


def format_traceback(chain: Sequence[tuple[Sequence[Frame], str]]) -> str:
    """Format exceptions chained by `raise … from …`: each a list of frames and its last line."""
    parts = []
    for frames, last_line in chain:
        lines = ["Traceback (most recent call last):"]
        for path, line, function, code in frames:
            lines += [f'  File "{path}", line {line}, in {function}', f"    {code}"]
        lines.append(last_line)
        parts.append("\n".join(lines))
    cause = "\n\nThe above exception was the direct cause of the following exception:\n\n"
    return cause.join(parts) + "\n"


def _twitch_read_timeout(rng: random.Random) -> Failure:
    inner: list[Frame] = [
        (f"{SITE}/httpx/_transports/default.py", 69, "map_httpcore_exceptions", "yield"),
        (
            f"{SITE}/httpx/_transports/default.py",
            233,
            "handle_request",
            "resp = self._pool.handle_request(req)",
        ),
        (f"{SITE}/httpcore/_sync/connection_pool.py", 216, "handle_request", "raise exc from None"),
        (f"{SITE}/httpcore/_sync/http11.py", 143, "handle_request", "raise exc"),
        (f"{SITE}/httpcore/_backends/sync.py", 126, "read", "with map_exceptions(exc_map):"),
        (f"{SITE}/httpcore/_exceptions.py", 14, "map_exceptions", "raise to_exc(exc) from exc"),
    ]
    outer: list[Frame] = [
        *CELERY_FRAMES,
        (
            "/app/clipper/tasks/clips.py",
            rng.choice((84, 88)),
            "clip_sync",
            "clips = twitch.fetch_clips(broadcaster_id, started_at=window_start)",
        ),
        (
            "/app/clipper/twitch/client.py",
            142,
            "fetch_clips",
            'response = self._http.get("/helix/clips", params=params)',
        ),
        (f"{SITE}/httpx/_client.py", 1054, "get", "return self.request("),
        (
            f"{SITE}/httpx/_client.py",
            827,
            "request",
            "return self.send(request, auth=auth, follow_redirects=follow_redirects)",
        ),
        (f"{SITE}/httpx/_transports/default.py", 232, "handle_request", "with map_httpcore_exceptions():"),
        (
            f"{SITE}/httpx/_transports/default.py",
            86,
            "map_httpcore_exceptions",
            "raise mapped_exc(message) from exc",
        ),
    ]
    message = "The read operation timed out"
    chain = [(inner, f"httpcore.ReadTimeout: {message}"), (outer, f"httpx.ReadTimeout: {message}")]
    return Failure("httpx.ReadTimeout", message, format_traceback(chain))


def _twitch_rate_limited(rng: random.Random) -> Failure:
    broadcaster = rng.randint(10_000_000, 999_999_999)
    url = f"https://api.twitch.tv/helix/clips?broadcaster_id={broadcaster}&first=100"
    message = (
        f"Client error '429 Too Many Requests' for url '{url}'\n"
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/429"
    )
    frames: list[Frame] = [
        *CELERY_FRAMES,
        (
            "/app/clipper/tasks/clips.py",
            88,
            "clip_sync",
            "clips = twitch.fetch_clips(broadcaster_id, started_at=window_start)",
        ),
        ("/app/clipper/twitch/client.py", 145, "fetch_clips", "response.raise_for_status()"),
        (
            f"{SITE}/httpx/_models.py",
            829,
            "raise_for_status",
            "raise HTTPStatusError(message, request=request, response=self)",
        ),
    ]
    return Failure(
        "httpx.HTTPStatusError", message, format_traceback([(frames, f"httpx.HTTPStatusError: {message}")])
    )


def _inventory_deadlock(rng: random.Random) -> Failure:
    pid_a, pid_b = rng.randint(1000, 65000), rng.randint(1000, 65000)
    tx_a, tx_b = rng.randint(10_000_000, 99_999_999), rng.randint(10_000_000, 99_999_999)
    page, row = rng.randint(1, 4000), rng.randint(1, 60)
    message = (
        "deadlock detected\n"
        f"DETAIL:  Process {pid_a} waits for ShareLock on transaction {tx_a}; blocked by process {pid_b}.\n"
        f"Process {pid_b} waits for ShareLock on transaction {tx_b}; blocked by process {pid_a}.\n"
        "HINT:  See server log for query details.\n"
        f'CONTEXT:  while updating tuple ({page},{row}) in relation "inventory_levels"'
    )
    frames: list[Frame] = [
        *CELERY_FRAMES,
        (
            "/app/shop/jobs/inventory.py",
            131,
            "inventory_sync",
            "apply_levels(conn, batch)",
        ),
        (
            "/app/shop/jobs/inventory.py",
            74,
            "apply_levels",
            "cur.executemany(UPSERT_LEVEL, rows)",
        ),
        (f"{SITE}/psycopg/cursor.py", 775, "executemany", "raise ex.with_traceback(None)"),
    ]
    return Failure(
        "psycopg.errors.DeadlockDetected",
        message,
        format_traceback([(frames, f"psycopg.errors.DeadlockDetected: {message}")]),
    )


def _product_key_error(rng: random.Random) -> Failure:
    key = rng.choice(("sku", "variant_id", "price", "sku"))
    frames: list[Frame] = [
        *CELERY_FRAMES,
        (
            "/app/shop/jobs/products.py",
            58,
            "product_sync",
            "for product in feed.iter_products(page_size=250):",
        ),
        ("/app/shop/feeds/supplier.py", 112, "iter_products", "yield self._normalise(item)"),
        ("/app/shop/feeds/supplier.py", 139, "_normalise", f'sku = item["{key}"]'),
    ]
    return Failure("KeyError", f"'{key}'", format_traceback([(frames, f"KeyError: '{key}'")]))


def _statement_timeout(rng: random.Random) -> Failure:
    message = "canceling statement due to statement timeout"
    frames: list[Frame] = [
        *CELERY_FRAMES,
        (
            "/app/clipper/tasks/scores.py",
            rng.choice((41, 43)),
            "hot_score_refresh",
            "conn.execute(REFRESH_HOT_SCORES)",
        ),
        (f"{SITE}/psycopg/connection.py", 917, "execute", "raise ex.with_traceback(None)"),
    ]
    return Failure(
        "psycopg.errors.QueryCanceled",
        message,
        format_traceback([(frames, f"psycopg.errors.QueryCanceled: {message}")]),
    )


def _redis_refused(rng: random.Random) -> Failure:
    message = "Error 111 connecting to redis:6379. Connection refused."
    frames: list[Frame] = [
        *CELERY_FRAMES,
        ("/app/clipper/tasks/scores.py", 77, "trending_score_refresh", "cache.zadd(TRENDING_KEY, scores)"),
        (
            f"{SITE}/redis/commands/core.py",
            4128,
            "zadd",
            'return self.execute_command("ZADD", name, *pieces, **options)',
        ),
        (
            f"{SITE}/redis/client.py",
            559,
            "execute_command",
            "conn = self.connection or pool.get_connection(command_name, **options)",
        ),
        (f"{SITE}/redis/connection.py", 353, "connect", "raise ConnectionError(self._error_message(e))"),
    ]
    del rng
    return Failure(
        "redis.exceptions.ConnectionError",
        message,
        format_traceback([(frames, f"redis.exceptions.ConnectionError: {message}")]),
    )


def _badge_unique_violation(rng: random.Random) -> Failure:
    user, badge = rng.randint(1000, 250_000), rng.randint(1, 40)
    message = (
        'duplicate key value violates unique constraint "user_badges_user_id_badge_id_key"\n'
        f"DETAIL:  Key (user_id, badge_id)=({user}, {badge}) already exists."
    )
    frames: list[Frame] = [
        *CELERY_FRAMES,
        ("/app/clipper/tasks/reputation.py", 203, "reputation_tasks", "award_badges(conn, since=last_run)"),
        ("/app/clipper/reputation/badges.py", 88, "award_badges", "conn.execute(INSERT_BADGE, awards)"),
        (f"{SITE}/psycopg/cursor.py", 732, "execute", "raise ex.with_traceback(None)"),
    ]
    return Failure(
        "psycopg.errors.UniqueViolation",
        message,
        format_traceback([(frames, f"psycopg.errors.UniqueViolation: {message}")]),
    )


def _webhook_redis_timeout(rng: random.Random) -> Failure:
    message = "Timeout reading from socket"
    frames: list[Frame] = [
        *CELERY_FRAMES,
        ("/app/clipper/tasks/webhooks.py", 36, "webhook_retry", "due = queue.pop_due(limit=200)"),
        (
            "/app/clipper/webhooks/queue.py",
            51,
            "pop_due",
            "return self._redis.zrangebyscore(self.key, 0, now, start=0, num=limit)",
        ),
        (
            f"{SITE}/redis/connection.py",
            511,
            "read_response",
            'raise TimeoutError(f"Timeout reading from {host_error}")',
        ),
    ]
    del rng
    return Failure(
        "redis.exceptions.TimeoutError",
        message,
        format_traceback([(frames, f"redis.exceptions.TimeoutError: {message}")]),
    )


def _cuda_oom(rng: random.Random) -> Failure:
    wanted = rng.choice((512, 768, 1024, 1536, 2048))
    allocated = round(rng.uniform(12.5, 14.9), 2)
    free = round(rng.uniform(0.05, 0.9), 2)
    message = (
        f"CUDA out of memory. Tried to allocate {wanted}.00 MiB. GPU 0 has a total capacity of 15.77 GiB "
        f"of which {free} GiB is free. Of the allocated memory {allocated} GiB is allocated by PyTorch."
    )
    frames: list[Frame] = [
        *CELERY_FRAMES,
        (
            "/app/clipper/tasks/embeddings.py",
            64,
            "embedding_generation",
            "vectors = model.encode(texts, batch_size=64)",
        ),
        (
            f"{SITE}/sentence_transformers/SentenceTransformer.py",
            565,
            "encode",
            "out_features = self.forward(features, **kwargs)",
        ),
        (
            f"{SITE}/torch/nn/modules/module.py",
            1736,
            "_wrapped_call_impl",
            "return self._call_impl(*args, **kwargs)",
        ),
    ]
    return Failure(
        "torch.OutOfMemoryError",
        message,
        format_traceback([(frames, f"torch.OutOfMemoryError: {message}")]),
    )


def time_limit_exceeded(limit_s: int) -> Failure:
    """A hard time limit hit: Celery killed the worker process that ran the task."""
    message = f"TimeLimitExceeded({float(limit_s)},)"
    frames: list[Frame] = [
        (f"{SITE}/billiard/pool.py", 684, "on_hard_timeout", "raise TimeLimitExceeded(job._timeout)"),
    ]
    return Failure(
        "billiard.exceptions.TimeLimitExceeded",
        message,
        format_traceback([(frames, f"billiard.exceptions.TimeLimitExceeded: {message}")]),
    )


FailureKind = Callable[[random.Random], Failure]

# Each job's failures with their weights: the first is the common one.
FAILURES: dict[str, tuple[tuple[FailureKind, float], ...]] = {
    "clip_sync": ((_twitch_read_timeout, 0.7), (_twitch_rate_limited, 0.3)),
    "inventory_sync": ((_inventory_deadlock, 1.0),),
    "product_sync": ((_product_key_error, 1.0),),
    "hot_score_refresh": ((_statement_timeout, 1.0),),
    "trending_score_refresh": ((_redis_refused, 1.0),),
    "reputation_tasks": ((_badge_unique_violation, 1.0),),
    "webhook_retry": ((_webhook_redis_timeout, 1.0),),
    "embedding_generation": ((_cuda_oom, 1.0),),
}


def failure_for(job: str, rng: random.Random) -> Failure:
    """A failure of the job, chosen by weight."""
    kinds = FAILURES[job]
    kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
    return kind(rng)
