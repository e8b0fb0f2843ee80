"""Wrapping crontab lines in `jobdeck run`: names from commands, what is kept, and idempotence."""

from __future__ import annotations

import pytest

from jobdeck.cli.crontab_wrap import job_name, text_of, wrap, wrap_command

JOBDECK = "/opt/jobdeck/bin/jobdeck"
CRONTAB = """\
MAILTO=ops@example.com
# nightly work
*/5 * * * * /opt/bin/backup-db.sh --full
0 2 * * * cd /srv/app && python3 manage.py clearsessions >> /var/log/sessions.log 2>&1
@daily /usr/bin/python3 -m app.sync

@reboot /opt/start.sh
15 * * * * /opt/bin/backup-db.sh
30 1 * * * mail -s report root%line one%line two
"""


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("/opt/bin/backup-db.sh --full", "backup-db"),
        ("cd /srv/app && python3 manage.py clearsessions > /dev/null 2>&1", "manage"),
        ("/usr/bin/python3 -m app.sync", "app.sync"),
        ("FOO=1 nice -n 10 /x/y/report.py", "report"),
        ("timeout 300 /usr/local/bin/rotate-logs", "rotate-logs"),
        ("bash -lc 'cd /srv && ./nightly.sh'", "nightly"),
        ("python3 -c 'print(1)'", "python3"),
        ("node /srv/worker/dist/cleanup.js", "cleanup"),
        ("uv run sync_stock.py", "sync_stock"),
        ("curl -fsS https://example.com/ping > /dev/null", "curl"),
        ("/opt/weird name!.sh", "weird"),
        (">", "cron_job"),
    ],
)
def test_a_jobs_name_is_its_scripts_base_name(command: str, name: str) -> None:
    assert job_name(command) == name


def test_entries_are_wrapped_and_the_rest_kept() -> None:
    entries = wrap(CRONTAB, JOBDECK, timezone="UTC")
    lines = text_of(entries, CRONTAB).splitlines()
    original = CRONTAB.splitlines()
    for kept in (0, 1, 5, 6):  # the variable, the comment, the blank line, @reboot
        assert lines[kept] == original[kept]
    assert lines[2] == (
        f"*/5 * * * * {JOBDECK} run --job backup-db --schedule '*/5 * * * *' --timezone UTC -- "
        "/opt/bin/backup-db.sh --full"
    )
    assert lines[3] == (
        f"0 2 * * * {JOBDECK} run --job manage --schedule '0 2 * * *' --timezone UTC -- "
        "sh -c 'cd /srv/app && python3 manage.py clearsessions >> /var/log/sessions.log 2>&1'"
    )
    assert lines[4].startswith(f"@daily {JOBDECK} run --job app.sync --schedule '0 0 * * *'")
    assert "--job backup-db_2 " in lines[7]  # the same script twice: two jobs
    # cron's stdin after an unescaped % stays after the wrapped command
    assert lines[8].endswith("-- mail -s report root%line one%line two")
    assert [e.status for e in entries if e.status != "kept"] == ["wrapped"] * 3 + ["reboot"] + ["wrapped"] * 2


def test_wrapping_twice_changes_nothing() -> None:
    once = text_of(wrap(CRONTAB, JOBDECK), CRONTAB)
    again = wrap(once, JOBDECK)
    assert text_of(again, once) == once
    assert {e.status for e in again if e.schedule} == {"already wrapped"}
    assert [e.job for e in again if e.job] == ["backup-db", "manage", "app.sync", "backup-db_2", "mail"]


def test_names_by_line_or_by_the_name_derived() -> None:
    entries = wrap(CRONTAB, JOBDECK, {"4": "clear_sessions", "backup-db": "db_backup"})
    assert [e.job for e in entries if e.job] == [
        "db_backup",
        "clear_sessions",
        "app.sync",
        "db_backup_2",
        "mail",
    ]


def test_cron_tz_sets_the_expectations_zone() -> None:
    entries = wrap("CRON_TZ=Europe/Berlin\n0 3 * * * /bin/true\n", JOBDECK, timezone="UTC")
    assert "--timezone Europe/Berlin -- /bin/true" in entries[1].wrapped


def test_quotes_inside_a_shell_command_survive() -> None:
    line = wrap_command("echo 'it''s' \"$HOME\" | tee /tmp/x", "echo", "* * * * *", None, "jobdeck")
    assert line == (
        "jobdeck run --job echo --schedule '* * * * *' -- "
        "sh -c 'echo '\"'\"'it'\"'\"''\"'\"'s'\"'\"' \"$HOME\" | tee /tmp/x'"
    )
