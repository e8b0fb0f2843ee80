"""`jobdeck serve --source-table`: a table that does not fit stops it before it serves, naming what."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.test_cli import JOBDECK, _env, free_port


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [JOBDECK, "serve", "--db", f"sqlite:///{tmp_path / 'jd.db'}", "--port", str(free_port()), *args]
    return subprocess.run(
        command, env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("schema", "args", "says"),
    [
        (
            "CREATE TABLE background_jobs (id INTEGER, kind TEXT, status TEXT, created_at TEXT, "
            "started_at TEXT, completed_at TEXT, error_message TEXT)",
            (),
            "no column 'job_type' for job_type",
        ),
        (None, (), "background_jobs in sqlite:///"),
        (None, ("--source-map", "missing.toml"), "cannot read the source map missing.toml"),
    ],
)
def test_a_source_table_that_does_not_fit_is_named_and_serve_does_not_start(
    tmp_path: Path, schema: str | None, args: tuple[str, ...], says: str
) -> None:
    app = tmp_path / "app.db"
    with sqlite3.connect(app) as conn:
        if schema:
            conn.execute(schema)
    done = serve(tmp_path, "--source-table", f"sqlite:///{app}#background_jobs", *args)
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_a_target_without_a_table_is_refused(tmp_path: Path) -> None:
    done = serve(tmp_path, "--source-table", "sqlite:///app.db")
    assert done.returncode == 2
    assert "give it as URL#TABLE" in done.stderr
