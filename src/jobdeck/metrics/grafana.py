"""`jobdeck grafana-dashboard`: a provisionable Grafana dashboard over the exported metrics.

Ten panels, the Prometheus data source as a variable (`$datasource`) and a job filter (`$job`);
default range 6 h, refresh 30 s; thresholds are the alert rules' (alerts.catalog).
"""

from __future__ import annotations

from typing import Any

from jobdeck.alerts.catalog import BY_NAME
from jobdeck.metrics import names

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
JOB = 'job_name=~"$job"'
RATE = "$__rate_interval"
GREEN, YELLOW, RED = "green", "yellow", "red"


def _threshold(name: str) -> float:
    return BY_NAME[name].threshold


def _steps(*steps: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for color, value in steps]}


def _target(expr: str, legend: str, ref: str = "A", **extra: Any) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref, **extra}


def _panel(
    panel_id: int,
    title: str,
    kind: str,
    grid: tuple[int, int, int, int],
    targets: list[dict[str, Any]],
    *,
    unit: str = "short",
    thresholds: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    x, y, w, h = grid
    defaults: dict[str, Any] = {"unit": unit}
    if thresholds is not None:
        defaults["thresholds"] = thresholds
        defaults["color"] = {"mode": "thresholds"}
    return {
        "id": panel_id,
        "title": title,
        "type": kind,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": extra.pop("overrides", [])},
        "options": options or {},
        **extra,
    }


def _failure_ratio(window: str) -> str:
    failed = f'sum by (job_name) (rate({names.EXECUTIONS}{{{JOB}, status=~"failed|lost"}}[{window}]))'
    return f"100 * {failed} / sum by (job_name) (rate({names.EXECUTIONS}{{{JOB}}}[{window}]))"


def _p(quantile: float, by: str = "job_name") -> str:
    buckets = f"sum by ({by}, le) (rate({names.DURATION}_bucket{{{JOB}}}[{RATE}]))"
    return f"histogram_quantile({quantile}, {buckets})"


def panels() -> list[dict[str, Any]]:
    """The ten panels, in reading order."""
    per_minute = f"60 * sum(rate({names.EXECUTIONS}{{{JOB}, status=%s}}[5m]))"
    stale = f"(time() - {names.LAST_SUCCESS}{{{JOB}}}) / 60"
    p95_warn, p95_crit = _threshold("BackgroundJobHighDuration"), _threshold("BackgroundJobCriticalDuration")
    queue_warn = _threshold("BackgroundJobQueueGrowing")
    queue_crit = _threshold("BackgroundJobCriticalQueueSize")
    failing = 100 * _threshold("BackgroundJobFailing")
    legend = {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "mean"]}
    return [
        _panel(
            1,
            "Job Execution Status Overview",
            "stat",
            (0, 0, 8, 5),
            [
                _target(per_minute % '"success"', "Success/min"),
                _target(per_minute % '"failed"', "Failures/min", "B"),
            ],
            thresholds=_steps((GREEN, None), (YELLOW, 0.1), (RED, 1)),
            options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
            overrides=[
                {
                    "matcher": {"id": "byName", "options": "Success/min"},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": GREEN}}],
                }
            ],
        ),
        _panel(
            2,
            "Job Success Rate (%)",
            "gauge",
            (8, 0, 6, 5),
            [
                _target(
                    f'100 * sum(increase({names.EXECUTIONS}{{{JOB}, status="success"}}[$__range])) '
                    f"/ sum(increase({names.EXECUTIONS}{{{JOB}}}[$__range]))",
                    "Success rate",
                )
            ],
            unit="percent",
            thresholds=_steps((RED, None), (YELLOW, 50), (GREEN, 90)),
            options={"reduceOptions": {"calcs": ["lastNotNull"]}, "showThresholdMarkers": True},
        ),
        _panel(
            3,
            "Job Queue Sizes",
            "timeseries",
            (14, 0, 10, 5),
            [_target(names.QUEUE_SIZE, "{{queue}}")],
            thresholds=_steps((GREEN, None), (YELLOW, queue_warn), (RED, queue_crit)),
            options={"legend": legend},
        ),
        _panel(
            4,
            "Job Execution Rate by Job",
            "timeseries",
            (0, 5, 12, 8),
            [
                _target(
                    f"sum by (job_name, status) (rate({names.EXECUTIONS}{{{JOB}}}[{RATE}]))",
                    "{{job_name}} {{status}}",
                )
            ],
            unit="ops",
            options={"legend": legend},
            overrides=[
                {
                    "matcher": {"id": "byRegexp", "options": ".*(failed|lost)"},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": RED}}],
                }
            ],
        ),
        _panel(
            5,
            "Job Duration (P95/P50) by Job",
            "timeseries",
            (12, 5, 12, 8),
            [_target(_p(0.95), "{{job_name}} p95"), _target(_p(0.5), "{{job_name}} p50", "B")],
            unit="s",
            thresholds=_steps((GREEN, None), (YELLOW, p95_warn), (RED, p95_crit)),
            options={"legend": legend},
            custom={"thresholdsStyle": {"mode": "line"}},
        ),
        _panel(
            6,
            "Time Since Last Successful Run",
            "stat",
            (0, 13, 12, 6),
            [_target(stale, "{{job_name}}")],
            unit="m",
            thresholds=_steps((GREEN, None), (YELLOW, 120), (RED, 360)),
            options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
        ),
        _panel(
            7,
            "Items Processed Rate by Job",
            "timeseries",
            (12, 13, 12, 6),
            [
                _target(
                    f"sum by (job_name, status) (rate({names.ITEMS}{{{JOB}}}[{RATE}]))",
                    "{{job_name}} {{status}}",
                )
            ],
            unit="ops",
            options={"legend": {**legend, "calcs": ["lastNotNull", "mean", "sum"]}},
        ),
        _panel(
            8,
            "Job Failure Rate by Job",
            "bargauge",
            (0, 19, 12, 8),
            [_target(_failure_ratio("$__range"), "{{job_name}}", instant=True)],
            unit="percent",
            thresholds=_steps((GREEN, None), (YELLOW, failing), (RED, 20)),
            options={
                "orientation": "horizontal",
                "displayMode": "gradient",
                "reduceOptions": {"calcs": ["lastNotNull"]},
            },
        ),
        _panel(
            9,
            "Job Execution Heatmap",
            "heatmap",
            (12, 19, 12, 8),
            [
                _target(
                    f"sum by (le) (increase({names.DURATION}_bucket{{{JOB}}}[{RATE}]))",
                    "{{le}}",
                    format="heatmap",
                )
            ],
            unit="s",
            options={
                "calculate": False,
                "yAxis": {"unit": "s"},
                "color": {"mode": "scheme", "scheme": "Spectral", "steps": 64},
            },
        ),
        _details_table(stale, p95_warn, p95_crit, failing),
    ]


def _details_table(stale: str, p95_warn: float, p95_crit: float, failing: float) -> dict[str, Any]:
    per_minute = f"60 * sum by (job_name) (rate({names.EXECUTIONS}{{{JOB}, status=%s}}[5m]))"
    columns = [
        ("A", "Success/min", per_minute % '"success"', None),
        ("B", "Failures/min", per_minute % '~"failed|lost"', _steps((GREEN, None), (YELLOW, 0.1), (RED, 1))),
        ("C", "P95 Duration (s)", _p(0.95), _steps((GREEN, None), (YELLOW, p95_warn), (RED, p95_crit))),
        ("D", "Time Since Success (min)", stale, _steps((GREEN, None), (YELLOW, 120), (RED, 360))),
    ]
    targets = [_target(expr, "", ref, instant=True, format="table") for ref, _, expr, _ in columns]
    renames = {f"Value #{ref}": title for ref, title, _, _ in columns}
    overrides = [
        {
            "matcher": {"id": "byName", "options": title},
            "properties": [
                {"id": "thresholds", "value": steps},
                {"id": "custom.cellOptions", "value": {"type": "color-background"}},
            ],
        }
        for _, title, _, steps in columns
        if steps is not None
    ]
    return _panel(
        10,
        "Job Execution Details Table",
        "table",
        (0, 27, 24, 9),
        targets,
        overrides=overrides,
        transformations=[
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": {"Time": True},
                    "renameByName": {"job_name": "Job Name", **renames},
                    "indexByName": {
                        "job_name": 0,
                        **{f"Value #{ref}": i + 1 for i, (ref, *_) in enumerate(columns)},
                    },
                },
            },
        ],
        options={"showHeader": True, "sortBy": [{"displayName": "Failures/min", "desc": True}]},
    )


def dashboard(title: str = "Background Jobs", uid: str = "jobdeck-background-jobs") -> dict[str, Any]:
    """The dashboard model Grafana provisions from a JSON file."""
    return {
        "uid": uid,
        "title": title,
        "tags": ["jobdeck", "background-jobs"],
        "timezone": "browser",
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                {
                    "name": "job",
                    "label": "Job",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": {"query": f"label_values({names.EXECUTIONS}, job_name)", "refId": "jobs"},
                    "definition": f"label_values({names.EXECUTIONS}, job_name)",
                    "includeAll": True,
                    "allValue": ".*",
                    "multi": True,
                    "refresh": 2,
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },
        "annotations": {"list": []},
        "panels": panels(),
    }
