"""The jobdeck command line (the `jobdeck` console script is `jobdeck.cli:app`).

main.py builds the app; common.py holds what every command shares; the commands live in
server.py (migrate, serve), data.py (import, cleanup, verify-rollups), demo.py, run.py,
scheduler.py (the scheduler loop alone), grafana.py (grafana-dashboard) and prometheus_rules.py
(prometheus-rules).
"""

from __future__ import annotations

from jobdeck.cli.main import app

__all__ = ["app"]
