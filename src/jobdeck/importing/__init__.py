"""Importing history files: records read into events (records.py), recorded on several cores (parallel.py)."""

from __future__ import annotations

from jobdeck.importing.parallel import Totals, default_workers, import_file
from jobdeck.importing.records import BadRecord

__all__ = ["BadRecord", "Totals", "default_workers", "import_file"]
