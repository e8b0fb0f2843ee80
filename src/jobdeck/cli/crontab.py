"""`jobdeck crontab [--apply | --undo]`: the user's crontab with each entry wrapped in `jobdeck run`.

Without options it prints the wrapped crontab (stdout) and a table of its entries (stderr), changing
nothing. `--apply` shows the diff, asks (or `--yes`), keeps the current crontab as
~/.jobdeck/crontab.backup.<UTC time> (`--backup-dir`), and installs the new one with `crontab FILE`.
`--undo` installs the latest backup again (and marks it restored, so a second undo goes one further
back). `--file` reads and writes a file instead of the user's crontab; `--crontab-command` (or
$JOBDECK_CRONTAB_COMMAND) names another `crontab` program.
"""

from __future__ import annotations

import difflib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from jobdeck.cli import crontab_wrap
from jobdeck.cli.common import console, fail

BACKUP_PREFIX = "crontab.backup."
RESTORED_PREFIX = "crontab.restored."


class Crontab:
    """Where the crontab is read from and installed to: the `crontab` program, or a file."""

    def __init__(self, command: str, file: Path | None) -> None:
        self.command = shlex.split(command) or ["crontab"]
        self.file = file

    def read(self) -> str:
        if self.file is not None:
            try:
                return self.file.read_text()
            except FileNotFoundError:
                fail(f"--file {self.file} does not exist")
            except OSError as exc:
                fail(f"cannot read {self.file}: {exc}")
        done = self._run("-l")
        if done.returncode != 0:
            if "no crontab" in done.stderr.lower():
                return ""
            fail(f"`{shlex.join([*self.command, '-l'])}` failed: {done.stderr.strip() or done.returncode}")
        return done.stdout

    def install(self, text: str) -> None:
        if self.file is not None:
            self.file.write_text(text)
            return
        with tempfile.NamedTemporaryFile("w", prefix="jobdeck-crontab.", suffix=".txt", delete=False) as f:
            f.write(text)
            path = f.name
        try:
            done = self._run(path)
        finally:
            os.unlink(path)
        if done.returncode != 0:
            fail(f"`crontab` refused the new crontab: {done.stderr.strip() or done.returncode}", 1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            # The crontab program the user named (or `crontab`), with an argument list and no shell.
            return subprocess.run(  # noqa: S603
                [*self.command, *args], capture_output=True, text=True, check=False, timeout=60
            )
        except OSError as exc:
            fail(f"cannot run {self.command[0]!r}: {exc}")


def _jobdeck_path() -> str:
    """The jobdeck to write into the crontab: this one, by an absolute path (cron's PATH is short)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "jobdeck" and argv0.exists():
        return str(argv0.absolute())
    return shutil.which("jobdeck") or "jobdeck"


def _names(values: list[str]) -> dict[str, str]:
    names = {}
    for value in values:
        key, sep, name = value.partition("=")
        name = name.strip()
        if not sep or not key.strip() or not name:
            fail(f"--name takes LINE=NAME or OLD=NEW (e.g. --name 4=db_backup), not {value!r}")
        if crontab_wrap.clean_name(name) != name:
            fail(f"--name {value!r}: a job name here is letters, digits and _ . - only")
        names[key.strip()] = name
    return names


def _diff(old: str, new: str, before: str, after: str) -> Text:
    text = Text()
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), before, after, lineterm="")
    for line in lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        if line.startswith(("+++", "---", "@@")):
            style = "bold"
        text.append(line + "\n", style=style)
    return text


def _table(entries: list[crontab_wrap.Entry]) -> Table:
    table = Table(title="crontab entries", title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("schedule")
    table.add_column("job")
    table.add_column("")
    for entry in entries:
        if entry.status == "kept":
            continue
        style = {"wrapped": "green", "already wrapped": "dim", "reboot": "yellow"}[entry.status]
        note = "kept as it is (no schedule to expect)" if entry.status == "reboot" else entry.status
        table.add_row(
            str(entry.number), entry.schedule or "@reboot", entry.job or "", Text(note, style=style)
        )
    return table


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail("not asking on a non-interactive input: add --yes to go ahead")
    if not typer.confirm(question, default=False, err=True):
        console.print("nothing changed")
        raise typer.Exit(1)


def _backups(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.startswith(BACKUP_PREFIX))


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def crontab(
    apply: Annotated[
        bool, typer.Option("--apply", help="Install the wrapped crontab (after the diff)")
    ] = False,
    undo: Annotated[bool, typer.Option("--undo", help="Install the latest backup again")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before installing")] = False,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="A job's name: LINE=NAME (the entry's line) or OLD=NEW; repeatable"),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Read (and with --apply write) this file, not your crontab")
    ] = None,
    crontab_command: Annotated[
        str,
        typer.Option(
            "--crontab-command", envvar="JOBDECK_CRONTAB_COMMAND", help="The crontab program to run"
        ),
    ] = "crontab",
    backup_dir: Annotated[
        Path,
        typer.Option("--backup-dir", envvar="JOBDECK_CRONTAB_BACKUP_DIR", help="Where backups are kept"),
    ] = Path("~/.jobdeck"),
    jobdeck: Annotated[
        str | None, typer.Option("--jobdeck", help="The jobdeck program the entries run (default: this one)")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="The zone cron runs entries in (default: CRON_TZ, else this machine's)"),
    ] = None,
) -> None:
    """Print your crontab with each entry run by `jobdeck run --job NAME`, its schedule declared."""
    if apply and undo:
        fail("--apply and --undo do not go together")
    source = Crontab(crontab_command, file)
    backups = backup_dir.expanduser()
    if undo:
        _undo(source, backups, yes)
        return
    current = source.read()
    program = jobdeck or _jobdeck_path()
    entries = crontab_wrap.wrap(
        current, program, _names(name or []), timezone or crontab_wrap.local_timezone()
    )
    new = crontab_wrap.text_of(entries, current)
    if not apply:
        sys.stdout.write(new)  # as it is: no markup, no wrapping
        sys.stdout.flush()
        console.print(_table(entries))
        if not any(e.status in ("wrapped", "already wrapped") for e in entries):
            console.print("no entries to wrap")
        return
    console.print(_table(entries))
    if new == current:
        console.print("nothing to change: every entry is run by jobdeck already")
        return
    console.print(_diff(current, new, "current crontab", "wrapped"))
    _confirm("Install this crontab?", yes)
    backups.mkdir(parents=True, exist_ok=True)
    backup = backups / f"{BACKUP_PREFIX}{_stamp()}"
    backup.write_text(current)
    source.install(new)
    wrapped = sum(1 for e in entries if e.status == "wrapped")
    console.print(f"[green]installed[/green]: {wrapped} entries wrapped; the old crontab is kept in {backup}")
    console.print("undo with: jobdeck crontab --undo")


def _undo(source: Crontab, backups: Path, yes: bool) -> None:
    found = _backups(backups)
    if not found:
        fail(f"no backup in {backups} to restore")
    latest = found[-1]
    old = latest.read_text()
    current = source.read()
    if old == current:
        console.print(f"the crontab is already as {latest} keeps it")
    else:
        console.print(_diff(current, old, "current crontab", latest.name))
        _confirm(f"Restore {latest}?", yes)
        source.install(old)
    latest.rename(latest.with_name(RESTORED_PREFIX + latest.name.removeprefix(BACKUP_PREFIX)))
    console.print(f"[green]restored[/green] {latest.name}")


def register(app: typer.Typer) -> None:
    app.command("crontab")(crontab)
