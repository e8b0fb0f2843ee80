"""`jobdeck crontab` against a stand-in `crontab` program (no real cron needed): printing, applying with
a diff and a backup, idempotence, undo, names, and a wrapped entry that really records its run and
declares its schedule."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobdeck.store import Store
from jobdeck.store import alerts as store_alerts
from tests.acceptance.test_cli import JOBDECK, _env
from tests.acceptance.test_run_command import stored

CRONTAB = """\
MAILTO=ops@example.com
# nightly work
*/5 * * * * /opt/bin/backup-db.sh --full
0 2 * * * cd /srv/app && python3 manage.py clearsessions >> /var/log/sessions.log 2>&1
@reboot /opt/start.sh
"""

# `crontab -l` prints the file (or says there is none), `crontab FILE` installs FILE: as cron's does.
FAKE_CRONTAB = """\
import shutil, sys
from pathlib import Path
table = Path(sys.argv[0]).with_name("installed.crontab")
if sys.argv[1:] == ["-l"]:
    if not table.exists():
        sys.exit("no crontab for tester")
    sys.stdout.write(table.read_text())
else:
    text = Path(sys.argv[1]).read_text()
    if "reject-me" in text:
        sys.exit('"/tmp/x":3: bad minute')
    shutil.copy(sys.argv[1], table)
"""


@pytest.fixture
def cron(tmp_path: Path) -> Path:
    """The stand-in's installed crontab (a file next to it)."""
    program = tmp_path / "fake_crontab.py"
    program.write_text(FAKE_CRONTAB)
    return tmp_path / "installed.crontab"


def crontab(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **_env(),
        "JOBDECK_CRONTAB_COMMAND": f"{sys.executable} {tmp_path / 'fake_crontab.py'}",
        "JOBDECK_CRONTAB_BACKUP_DIR": str(tmp_path / "backups"),
        "COLUMNS": "200",
    }
    command = [JOBDECK, "crontab", "--jobdeck", JOBDECK, "--timezone", "UTC", *args]
    return subprocess.run(
        command,
        env=env,
        cwd=tmp_path,
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_prints_the_wrapped_crontab_and_changes_nothing(tmp_path: Path, cron: Path) -> None:
    cron.write_text(CRONTAB)
    done = crontab(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["MAILTO=ops@example.com", "# nightly work"]
    assert lines[2] == (
        f"*/5 * * * * {JOBDECK} run --job backup-db --schedule '*/5 * * * *' --timezone UTC -- "
        "/opt/bin/backup-db.sh --full"
    )
    assert "--job manage " in lines[3]
    assert lines[4] == "@reboot /opt/start.sh"
    assert "backup-db" in done.stderr  # the table of entries
    assert "kept as it is" in done.stderr
    assert cron.read_text() == CRONTAB
    assert not (tmp_path / "backups").exists()


def test_apply_shows_the_diff_keeps_a_backup_installs_and_is_idempotent_then_undo_restores(
    tmp_path: Path, cron: Path
) -> None:
    cron.write_text(CRONTAB)
    done = crontab(tmp_path, "--apply", "--yes", "--name", "4=clear_sessions")
    assert done.returncode == 0, done.stderr
    assert "-*/5 * * * * /opt/bin/backup-db.sh --full" in done.stderr
    assert "+*/5 * * * * " in done.stderr
    installed = cron.read_text()
    assert "--job clear_sessions " in installed
    assert installed.count(" run --job ") == 2
    (backup,) = (tmp_path / "backups").iterdir()
    assert re.fullmatch(r"crontab\.backup\.\d{8}T\d{6}\.\d{6}Z", backup.name)
    assert backup.read_text() == CRONTAB
    again = crontab(tmp_path, "--apply", "--yes")
    assert again.returncode == 0
    assert "nothing to change" in again.stderr
    assert cron.read_text() == installed
    assert len(list((tmp_path / "backups").iterdir())) == 1
    undone = crontab(tmp_path, "--undo", "--yes")
    assert undone.returncode == 0, undone.stderr
    assert cron.read_text() == CRONTAB
    assert [p.name.split(".")[1] for p in (tmp_path / "backups").iterdir()] == ["restored"]
    nothing = crontab(tmp_path, "--undo", "--yes")
    assert nothing.returncode == 2
    assert "no backup in" in nothing.stderr


def test_apply_asks_and_a_no_or_no_terminal_changes_nothing(tmp_path: Path, cron: Path) -> None:
    cron.write_text(CRONTAB)
    done = crontab(tmp_path, "--apply")
    assert done.returncode == 2
    assert "add --yes" in done.stderr
    assert cron.read_text() == CRONTAB


def test_a_crontab_cron_refuses_is_reported_and_the_old_one_stays(tmp_path: Path, cron: Path) -> None:
    cron.write_text("0 1 * * * /opt/reject-me.sh\n")
    done = crontab(tmp_path, "--apply", "--yes")
    assert done.returncode == 1
    assert '`crontab` refused the new crontab: "/tmp/x":3: bad minute' in done.stderr
    assert cron.read_text() == "0 1 * * * /opt/reject-me.sh\n"


def test_no_crontab_yet_and_bad_options(tmp_path: Path, cron: Path) -> None:
    done = crontab(tmp_path)
    assert done.returncode == 0
    assert done.stdout == ""
    assert "no entries to wrap" in done.stderr
    bad = crontab(tmp_path, "--name", "oops")
    assert bad.returncode == 2
    assert "--name takes LINE=NAME" in bad.stderr
    both = crontab(tmp_path, "--apply", "--undo")
    assert both.returncode == 2
    assert "do not go together" in both.stderr


def test_file_mode_reads_and_writes_the_file(tmp_path: Path) -> None:
    table = tmp_path / "my.crontab"
    table.write_text("0 3 * * * /usr/local/bin/rotate-logs\n")
    done = crontab(tmp_path, "--file", str(table), "--apply", "--yes")
    assert done.returncode == 0, done.stderr
    assert "--job rotate-logs --schedule '0 3 * * *'" in table.read_text()


def test_a_wrapped_entry_records_its_run_and_declares_its_schedule(tmp_path: Path, cron: Path) -> None:
    cron.write_text("*/5 * * * * cd /tmp && echo backed up && exit 3\n")
    line = crontab(tmp_path).stdout.splitlines()[0]
    command = line.split(" ", 5)[5]  # what cron hands to sh after the five time fields
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    env = {**_env(), "JOBDECK_DATABASE_URL": db, "JOBDECK_SPOOL_DIR": str(tmp_path / "spool")}
    ran = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, check=False)
    assert ran.returncode == 3
    assert ran.stdout == "backed up\n"
    run = stored(db, "echo", status="failed")
    assert run["traceback"] == "backed up\n"
    store = Store(db)
    try:
        with store.read() as conn:
            expectation = store_alerts.expectations(conn)["echo"]
    finally:
        store.close()
    assert (expectation["schedule"], expectation["timezone"]) == ("*/5 * * * *", "UTC")
