"""`jobdeck prometheus-rules`: Prometheus alerting rules over the exported metrics.

Thresholds and windows are the native rules' defaults (alerts.catalog); each alert carries a
summary, a description with the figure, and a runbook link to jobdeck's alerts page.
"""

from __future__ import annotations

from typing import Any

import yaml

from jobdeck.alerts.catalog import CRITICAL, PROMETHEUS_RULES, RuleSpec
from jobdeck.metrics import names

FAILURES = f'{names.EXECUTIONS}{{status=~"failed|lost"}}'


def _minutes(seconds: int) -> str:
    return f"{seconds // 60}m"


def _ratio(numerator: str, denominator: str, window: str) -> str:
    # A window without runs gives 0/0 = NaN, which is above no threshold.
    part = "sum by (job_name) (increase({}[{}]))"
    return f"{part.format(numerator, window)} / {part.format(denominator, window)}"


def expression(rule: RuleSpec) -> str:
    """The PromQL that holds while the rule's condition does."""
    window = _minutes(rule.window_s) if rule.window_s else "10m"
    threshold = f"{rule.threshold:g}"
    if rule.name in ("BackgroundJobFailing", "BackgroundJobCriticalFailureRate"):
        return f"{_ratio(FAILURES, names.EXECUTIONS, window)} > {threshold}"
    if rule.name in ("BackgroundJobNotRunning", "BackgroundJobCriticallyStale"):
        return f"time() - {names.LAST_SUCCESS} > {threshold}"
    if rule.name in ("BackgroundJobHighDuration", "BackgroundJobCriticalDuration"):
        buckets = f"sum by (job_name, le) (rate({names.DURATION}_bucket[{window}]))"
        return f"histogram_quantile(0.95, {buckets}) > {threshold}"
    if rule.name == "BackgroundJobQueueGrowing":
        return f"{names.QUEUE_SIZE} > {threshold} and deriv({names.QUEUE_SIZE}[{window}]) > 0"
    if rule.name == "BackgroundJobCriticalQueueSize":
        return f"{names.QUEUE_SIZE} > {threshold}"
    if rule.name == "BackgroundJobHighItemFailureRate":
        failed = f'{names.ITEMS}{{status="failed"}}'
        return f"{_ratio(failed, names.ITEMS, window)} > {threshold}"
    raise ValueError(f"no Prometheus expression for {rule.name}")


def _description(rule: RuleSpec) -> str:
    subject = "Queue {{ $labels.queue }}" if "Queue" in rule.name else "Job {{ $labels.job_name }}"
    figure = {
        "ratio": "{{ $value | humanizePercentage }}",
        "seconds": "{{ $value | humanizeDuration }}",
        "count": "{{ $value }}",
    }[rule.unit]
    return f"{subject}: {figure} (threshold {rule.threshold:g}). {rule.runbook}"


def alerting_rule(rule: RuleSpec, runbook_base: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"alert": rule.name, "expr": expression(rule)}
    if rule.severity != CRITICAL and rule.hold_s:
        entry["for"] = _minutes(rule.hold_s)
    entry["labels"] = {"severity": rule.severity}
    entry["annotations"] = {
        "summary": rule.summary,
        "description": _description(rule),
        "runbook_url": f"{runbook_base.rstrip('/')}/alerts/rules#{rule.anchor}",
    }
    return entry


def rules_document(runbook_base: str) -> dict[str, Any]:
    """The rule file as data: one group of every rule Prometheus can evaluate."""
    return {
        "groups": [
            {
                "name": "jobdeck-background-jobs",
                "rules": [alerting_rule(rule, runbook_base) for rule in PROMETHEUS_RULES],
            }
        ]
    }


def rules_yaml(runbook_base: str) -> str:
    """The rule file as YAML, ready for Prometheus' `rule_files`."""
    text: str = yaml.safe_dump(rules_document(runbook_base), sort_keys=False, width=110)
    return text
