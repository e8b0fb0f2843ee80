"""The alert rules jobdeck knows: name, severity, default threshold and window, and what to do.

Both the native evaluator and the generated Prometheus rules take their defaults from here, so a
threshold means the same in jobdeck and in Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleSpec:
    """One rule: `threshold` in the rule's unit, over `window_s`, firing after `hold_s` pending."""

    name: str
    severity: str  # "warning" or "critical"; critical rules fire at the first evaluation
    threshold: float
    window_s: int
    hold_s: int
    unit: str  # how the figure reads: "ratio", "seconds", "runs", "count"
    summary: str
    runbook: str

    @property
    def anchor(self) -> str:
        return self.name.lower()


WARNING, CRITICAL = "warning", "critical"
HOLD_S = 300

RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        "BackgroundJobFailing",
        WARNING,
        0.05,
        600,
        HOLD_S,
        "ratio",
        "More than 5 % of the job's runs failed over 10 minutes.",
        "Open the job's failures: a new fingerprint points at the change that broke it; retry once fixed.",
    ),
    RuleSpec(
        "BackgroundJobCriticalFailureRate",
        CRITICAL,
        0.5,
        300,
        0,
        "ratio",
        "More than half of the job's runs failed over 5 minutes.",
        "Most runs fail: check what the job depends on (database, API, credentials) before retrying.",
    ),
    RuleSpec(
        "BackgroundJobNotRunning",
        WARNING,
        7200.0,
        0,
        0,
        "seconds",
        "No successful run for longer than expected (natively: the job's interval plus grace; else 2 h).",
        "See whether runs start at all (scheduler, workers, beat) or start and fail; a 6-hourly job is "
        "late only after 6 h plus grace.",
    ),
    RuleSpec(
        "BackgroundJobCriticallyStale",
        CRITICAL,
        86400.0,
        0,
        0,
        "seconds",
        "No successful run for more than 24 hours.",
        "Whatever depends on this job's output is a day old: find why it stopped and run it by hand.",
    ),
    RuleSpec(
        "BackgroundJobHighDuration",
        WARNING,
        300.0,
        600,
        HOLD_S,
        "seconds",
        "The job's p95 duration is above 5 minutes.",
        "Compare with the job's usual durations on its page; look for growth in the data it handles.",
    ),
    RuleSpec(
        "BackgroundJobCriticalDuration",
        CRITICAL,
        600.0,
        600,
        0,
        "seconds",
        "The job's p95 duration is above 10 minutes.",
        "Runs may overlap the next schedule: check the timeline for overlaps and stuck runs.",
    ),
    RuleSpec(
        "BackgroundJobQueueGrowing",
        WARNING,
        100.0,
        600,
        HOLD_S,
        "count",
        "The queue holds more than 100 runs and keeps growing.",
        "Add workers or find what slows them; check that workers consume this queue at all.",
    ),
    RuleSpec(
        "BackgroundJobCriticalQueueSize",
        CRITICAL,
        1000.0,
        0,
        0,
        "count",
        "The queue holds more than 1000 runs.",
        "Work piles up faster than it is done: scale workers, or pause what floods the queue.",
    ),
    RuleSpec(
        "BackgroundJobHighItemFailureRate",
        WARNING,
        0.2,
        600,
        HOLD_S,
        "ratio",
        "More than 20 % of the items the job processed failed over 10 minutes.",
        "Runs succeed but items fail: read the job's logs for the failing items' common cause.",
    ),
    RuleSpec(
        "BackgroundJobConsecutiveFailures",
        WARNING,
        3.0,
        0,
        0,
        "runs",
        "The job's last runs all failed (3 in a row by default).",
        "Every recent run failed: open the latest failure's traceback.",
    ),
    RuleSpec(
        "BackgroundJobTooShort",
        WARNING,
        0.1,
        3600,
        0,
        "ratio",
        "A run finished far faster than usual (under 10 % of the job's median).",
        "A run that 'succeeded' in a fraction of its usual time may have done nothing: check its output.",
    ),
    RuleSpec(
        "BackgroundJobTooFrequent",
        WARNING,
        0.5,
        3600,
        0,
        "ratio",
        "Runs start more often than expected (gaps under half the expected interval).",
        "Two schedulers or a retry loop may be starting the job: check the runs' sources and hosts.",
    ),
    RuleSpec(
        "BackgroundJobOverrunning",
        WARNING,
        1.5,
        0,
        0,
        "ratio",
        "A running run has gone far past the job's usual p99 duration (1.5 times by default).",
        "The run may be stuck: look at its heartbeat, then stop or terminate it.",
    ),
    RuleSpec(
        "BackgroundJobMissed",
        CRITICAL,
        0.0,
        0,
        0,
        "seconds",
        "No run started by the expected time plus grace.",
        "The job's declared schedule says a run is due: check the scheduler or cron that starts it.",
    ),
)

BY_NAME = {rule.name: rule for rule in RULES}
# The rules that Prometheus can evaluate from the exported metrics (the rest need run history).
PROMETHEUS_RULES = RULES[:9]
