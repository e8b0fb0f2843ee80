"""The jobdeck command line (the `jobdeck` console script is `jobdeck.cli:app`).

main.py builds the app; common.py holds what every command shares; the commands live in
server.py (migrate, serve), data.py (import, cleanup, verify-rollups), demo.py and run.py.
"""

from __future__ import annotations

from jobdeck.cli.main import app

__all__ = ["app"]
