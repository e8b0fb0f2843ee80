"""The rule table: every route of the app says what it needs (auth/roles.Need).

A route is named by its method and path template, as FastAPI matched it. A route missing from the
table gets the default below (reads need a viewer, anything else an admin), so nothing new is ever
open by accident; the table-driven test (tests/integration/test_auth_rules.py) fails for any route
that is not in the table, so each one is classified on purpose.
"""

from __future__ import annotations

from jobdeck.auth.roles import Need

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

OPEN, V, OP, A, INGEST = Need.OPEN, Need.VIEWER, Need.OPERATOR, Need.ADMIN, Need.INGEST

RULES: dict[tuple[str, str], Need] = {
    # Open: load balancers and the sign-in pages.
    ("GET", "/api/health"): OPEN,
    ("GET", "/login"): OPEN,
    ("POST", "/login"): OPEN,
    ("POST", "/logout"): OPEN,
    # The API's own description.
    ("GET", "/openapi.json"): V,
    ("GET", "/docs"): V,
    ("GET", "/docs/oauth2-redirect"): V,
    ("GET", "/redoc"): V,
    # Ingest: events from the SDK, `jobdeck run` and anything posting them.
    ("POST", "/api/v1/events"): INGEST,
    # Reads: the JSON API, downloads, the live stream and the pages.
    ("GET", "/api/v1/runs"): V,
    ("GET", "/api/v1/runs/{run_id}"): V,
    ("GET", "/api/v1/runs/{run_id:path}"): V,
    ("GET", "/api/v1/jobs"): V,
    ("GET", "/api/v1/stats"): V,
    ("GET", "/api/v1/timeseries"): V,
    ("GET", "/api/v1/heatmap"): V,
    ("GET", "/api/v1/overlaps"): V,
    ("GET", "/api/v1/timeline"): V,
    ("GET", "/api/v1/export/runs"): V,
    ("GET", "/api/v1/export/failures"): V,
    ("GET", "/api/v1/export/jobs"): V,
    ("GET", "/api/v1/stream"): V,
    ("GET", "/api/v1/changes"): V,
    # The seed dashboard's queries are POSTs that read.
    ("POST", "/api/jobs"): V,
    ("POST", "/api/overlaps"): V,
    ("POST", "/api/stats"): V,
    ("GET", "/"): V,
    ("GET", "/runs"): V,
    ("GET", "/runs/{run_id:path}"): V,
    ("GET", "/jobs/{job_name}"): V,
    ("GET", "/jobs/{job_name:path}"): V,
    ("GET", "/failures"): V,
    ("GET", "/control"): V,
    # Actions on runs.
    ("POST", "/api/v1/runs/{run_id:path}/stop"): OP,
    ("POST", "/api/v1/runs/{run_id:path}/retry"): OP,
    ("POST", "/fragments/runs/{run_id:path}/stop"): OP,
    ("POST", "/fragments/runs/{run_id:path}/retry"): OP,
    # The browser's icon.
    ("GET", "/favicon.svg"): OPEN,
    ("GET", "/favicon.ico"): OPEN,
    # More reads: resources, predicted overlaps, the safety sweep's health, metrics (a token, or open
    # with JOBDECK_METRICS_OPEN), schedules, alerts and channels.
    ("GET", "/api/v1/resources"): V,
    ("GET", "/api/v1/overlaps/predicted"): V,
    ("GET", "/api/v1/safety/health"): V,
    ("GET", "/metrics"): V,
    ("GET", "/api/v1/schedules"): V,
    ("GET", "/api/v1/schedules/due"): V,
    ("GET", "/api/v1/schedules/{schedule_id}"): V,
    ("GET", "/api/v1/schedules/{schedule_id}/next"): V,
    ("GET", "/schedules"): V,
    ("GET", "/schedules/new"): V,
    ("GET", "/schedules/{schedule_id}/edit"): V,
    ("GET", "/schedules/{schedule_id}"): V,
    ("GET", "/api/v1/alerts"): V,
    ("GET", "/api/v1/alerts/rules"): V,
    ("GET", "/api/v1/channels"): V,
    ("GET", "/alerts"): V,
    ("GET", "/alerts/rules"): V,
    ("GET", "/alerts/channels"): V,
    # Operators act on runs and schedules: run now, pause (a PATCH), mark stuck runs lost, silence alerts.
    ("POST", "/api/v1/schedules/{schedule_id}/run"): OP,
    ("PATCH", "/api/v1/schedules/{schedule_id}"): OP,
    ("POST", "/api/v1/safety/cleanup-stale"): OP,
    ("POST", "/api/v1/alerts/silences"): OP,
    ("DELETE", "/api/v1/alerts/silences/{silence_id}"): OP,
    ("POST", "/alerts/silences"): OP,
    ("POST", "/alerts/silences/{silence_id}/delete"): OP,
    # Admins define what runs (a schedule runs a command), alert rules and notification channels.
    ("POST", "/api/v1/schedules"): A,
    ("PUT", "/api/v1/schedules/{schedule_id}"): A,
    ("DELETE", "/api/v1/schedules/{schedule_id}"): A,
    ("PUT", "/api/v1/alerts/rules/{rule}"): A,
    ("DELETE", "/api/v1/alerts/rules/{rule}"): A,
    ("GET", "/api/v1/channels/{channel_id}"): A,
    ("POST", "/api/v1/channels"): A,
    ("DELETE", "/api/v1/channels/{channel_id}"): A,
    ("POST", "/api/v1/channels/{channel_id}/test"): A,
    ("POST", "/alerts/channels"): A,
    ("POST", "/alerts/channels/{channel_id}/delete"): A,
    ("POST", "/alerts/channels/{channel_id}/test"): A,
    # The audit trail.
    ("GET", "/api/v1/audit"): A,
    ("GET", "/audit"): A,
    # Pings (integrations/pings): anything that can make an HTTP call reports a run, as ingest does.
    ("GET", "/ping/{job}"): INGEST,
    ("POST", "/ping/{job}"): INGEST,
    ("GET", "/ping/{job}/{action}"): INGEST,
    ("POST", "/ping/{job}/{action}"): INGEST,
    # Celery actions (issue 12): terminate (also local runs), a job's failed runs retried; admins purge.
    ("POST", "/api/v1/runs/{run_id:path}/terminate"): OP,
    ("POST", "/fragments/runs/{run_id:path}/terminate"): OP,
    ("POST", "/api/v1/jobs/{job:path}/retry-failed"): OP,
    ("POST", "/fragments/jobs/{job:path}/retry-failed"): OP,
    ("POST", "/api/v1/queues/{name:path}/purge"): A,  # admins purge (issue 11: roles)
    # Celery monitoring (integrations/celery): its workers, read like runs.
    ("GET", "/api/v1/workers"): V,
    ("GET", "/workers"): V,
    # Queues of every job system (BullMQ, RQ, Celery): the list, the page, actions on a queue's jobs.
    ("GET", "/api/v1/queues"): V,
    ("GET", "/queues"): V,
    ("POST", "/api/v1/queues/{system}/{queue}/jobs/{job_id}/{action}"): OP,
    # Expectations declared without a run (a Celery app's beat schedule, through the SDK's token).
    ("POST", "/api/v1/expectations"): INGEST,
    ("GET", "/api/v1/expectations"): V,
}

# Fragments a page loads are reads like the page.
READ_PREFIXES = ("/fragments/",)


def need_of(method: str, path: str) -> Need:
    """What a route needs: its rule, or the safe default (reads: viewer, anything else: admin)."""
    found = RULES.get((method, path))
    if found is not None:
        return found
    if method in SAFE_METHODS:
        return Need.VIEWER
    return Need.ADMIN


def has_rule(method: str, path: str) -> bool:
    """True when the route is classified: in the table, or a read of a page fragment."""
    return (method, path) in RULES or (method in SAFE_METHODS and path.startswith(READ_PREFIXES))
