"""The generated Prometheus rules and Grafana board checked by Prometheus' own tools, and a real
Prometheus scraping a running `jobdeck serve`."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from jobdeck.alerts.catalog import BY_NAME, PROMETHEUS_RULES
from jobdeck.metrics import names
from tests.acceptance.test_cli import free_port, jobdeck, running
from tests.services import unavailable

PANELS = {
    "Job Execution Status Overview": "stat",
    "Job Success Rate (%)": "gauge",
    "Job Queue Sizes": "timeseries",
    "Job Execution Rate by Job": "timeseries",
    "Job Duration (P95/P50) by Job": "timeseries",
    "Time Since Last Successful Run": "stat",
    "Items Processed Rate by Job": "timeseries",
    "Job Failure Rate by Job": "bargauge",
    "Job Execution Heatmap": "heatmap",
    "Job Execution Details Table": "table",
}
# What Grafana substitutes into a query before Prometheus sees it.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "6h", "$job": ".*"}
PROMQL_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "time", "and", "deriv", "le", "job_name",
    "status", "queue", "bool", "or", "unless", "without", "on", "ignoring",
}  # fmt: skip


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable("Prometheus", f"{name} is not installed (Debian's prometheus package)")
    assert path is not None
    return path


def test_promtool_accepts_the_generated_rules(tmp_path: Path) -> None:
    promtool = tool("promtool")
    made = jobdeck("prometheus-rules", "--jobdeck-url", "https://jobs.example.com", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "rules.yml").write_text(made.stdout)
    checked = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(PROMETHEUS_RULES)} rules found" in checked.stdout
    rules = yaml.safe_load(made.stdout)["groups"][0]["rules"]
    assert [rule["alert"] for rule in rules] == [rule.name for rule in PROMETHEUS_RULES]
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations["summary"]
        assert annotations["description"]
        assert annotations["runbook_url"] == f"https://jobs.example.com/alerts/rules#{rule['alert'].lower()}"
        assert rule["labels"]["severity"] in ("warning", "critical")


def test_the_failing_rule_fires_on_series_prometheus_evaluates(tmp_path: Path) -> None:
    """promtool's rule unit tests: 10 % of runs failing fires BackgroundJobFailing after its hold,
    and not BackgroundJobCriticalFailureRate."""
    promtool = tool("promtool")
    (tmp_path / "rules.yml").write_text(jobdeck("prometheus-rules", cwd=tmp_path).stdout)

    def annotations(rule: str, figure: str) -> dict[str, str]:
        spec = BY_NAME[rule]
        subject = "Queue high" if "Queue" in rule else "Job sync"
        return {
            "summary": spec.summary,
            "description": f"{subject}: {figure} (threshold {spec.threshold:g}). {spec.runbook}",
            "runbook_url": f"http://127.0.0.1:5555/alerts/rules#{rule.lower()}",
        }

    case = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'job_execution_total{job_name="sync",status="success"}', "values": "0+9x30"},
                    {"series": 'job_execution_total{job_name="sync",status="failed"}', "values": "0+1x30"},
                    {"series": 'job_queue_size{queue="high"}', "values": "1500x30"},
                ],
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": "BackgroundJobFailing", "exp_alerts": []},
                    {
                        "eval_time": "20m",
                        "alertname": "BackgroundJobFailing",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", "job_name": "sync"},
                                "exp_annotations": annotations("BackgroundJobFailing", "10%"),
                            }
                        ],
                    },
                    {"eval_time": "20m", "alertname": "BackgroundJobCriticalFailureRate", "exp_alerts": []},
                    {
                        "eval_time": "1m",
                        "alertname": "BackgroundJobCriticalQueueSize",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical", "queue": "high"},
                                "exp_annotations": annotations("BackgroundJobCriticalQueueSize", "1500"),
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(case))
    result = subprocess.run(
        [promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def board_queries(board: dict[str, Any]) -> list[str]:
    queries = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            queries.append(variable["query"]["query"])
    return queries


def test_the_grafana_board_has_the_ten_panels_and_queries_prometheus_parses(tmp_path: Path) -> None:
    promtool = tool("promtool")
    made = jobdeck("grafana-dashboard", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    board = json.loads(made.stdout)
    assert {panel["title"]: panel["type"] for panel in board["panels"]} == PANELS
    assert board["time"] == {"from": "now-6h", "to": "now"}
    assert board["refresh"] == "30s"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(set(ids)) == 10
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    thresholds = {
        panel["title"]: [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]
        for panel in board["panels"]
        if "thresholds" in panel["fieldConfig"]["defaults"]
    }
    assert thresholds["Job Execution Status Overview"] == [None, 0.1, 1]
    assert thresholds["Job Success Rate (%)"] == [None, 50, 90]
    assert thresholds["Job Duration (P95/P50) by Job"] == [None, 300, 600]
    assert thresholds["Time Since Last Successful Run"] == [None, 120, 360]
    assert thresholds["Job Failure Rate by Job"] == [None, 5, 20]
    assert thresholds["Job Queue Sizes"] == [None, 100, 1000]

    # Each query, with Grafana's variables filled in, parsed by Prometheus (as a recording rule).
    queries = []
    for query in board_queries(board):
        for variable, filler in GRAFANA_VARIABLES.items():
            query = query.replace(variable, filler)
        queries.append(query.replace("label_values(job_execution_total, job_name)", "job_execution_total"))
    recording = {
        "groups": [
            {"name": "board", "rules": [{"record": f"q:{i}", "expr": q} for i, q in enumerate(queries)]}
        ]
    }
    (tmp_path / "board.yml").write_text(yaml.safe_dump(recording))
    checked = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "board.yml")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Each metric a query names is one jobdeck exports.
    named = set()
    for query in queries:
        without_strings = re.sub(r'"[^"]*"|\[[^\]]*\]', "", query)
        for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_strings):
            if word not in PROMQL_WORDS:
                named.add(word)
    assert named
    assert named <= set(names.SERIES), named - set(names.SERIES)
    assert {names.EXECUTIONS, f"{names.DURATION}_bucket", names.LAST_SUCCESS, names.ITEMS} <= named


def _events(now: datetime) -> list[dict[str, Any]]:
    batch = []
    for i in range(30):
        at = now - timedelta(minutes=90 - 2 * i)
        job = ("sync", "report", "mail")[i % 3]
        outcome = "failed" if i % 4 == 0 else "succeeded"
        batch += [
            {
                "run_id": f"p{i}",
                "event": "enqueued",
                "job": job,
                "queue": "q",
                "at": (at - timedelta(seconds=1)).isoformat(),
            },
            {"run_id": f"p{i}", "event": "started", "at": at.isoformat()},
            {"run_id": f"p{i}", "event": outcome, "at": (at + timedelta(seconds=i + 1)).isoformat()},
        ]
    return batch


def _query(base: str, expr: str, starting: bool = False) -> list[dict[str, Any]]:
    """The query's result; while `starting`, a Prometheus not ready yet (503) answers nothing."""
    response = httpx2.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5)
    if starting and response.status_code == 503:
        return []
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def test_a_real_prometheus_scrapes_jobdeck_and_its_counts_match_the_api(tmp_path: Path) -> None:
    prometheus = tool("prometheus")
    promtool = tool("promtool")
    port, prom_port = free_port(), free_port()
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    with running("serve", "--db", db, cwd=tmp_path, port=port):
        base = f"http://127.0.0.1:{port}"
        posted = httpx2.post(f"{base}/api/v1/events", json=_events(datetime.now(UTC)))
        assert posted.status_code == 202
        exposition = httpx2.get(f"{base}/metrics").text
        linted = subprocess.run(
            [promtool, "check", "metrics"], input=exposition, capture_output=True, text=True
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "jobdeck", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = tmp_path / "prometheus.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [
                    prometheus,
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        try:
            prom = f"http://127.0.0.1:{prom_port}"
            found: list[dict[str, Any]] = []
            deadline = time.monotonic() + 120  # a loaded machine starts Prometheus slowly
            while time.monotonic() < deadline and not found:
                if server.poll() is not None:
                    pytest.fail(f"prometheus exited: {log.read_text()[-2000:]}")
                with contextlib.suppress(httpx2.TransportError):
                    found = _query(prom, "job_execution_total", starting=True)
                time.sleep(0.5)
            assert found, "Prometheus scraped no job_execution_total within 120 s"
            scraped = {(s["metric"]["job_name"], s["metric"]["status"]): float(s["value"][1]) for s in found}
            jobs = httpx2.get(f"{base}/api/v1/jobs", params={"hours": 24}).json()["jobs"]
            assert {job["job"] for job in jobs} == {name for name, _ in scraped}
            for job in jobs:
                for column, status in names.EXECUTION_STATUSES.items():
                    assert scraped[(job["job"], status)] == job[column]
            assert sum(scraped.values()) == 30
            up = _query(prom, 'up{job="jobdeck"}')
            assert up
            assert up[0]["value"][1] == "1"
        finally:
            server.terminate()
            server.wait(timeout=20)
