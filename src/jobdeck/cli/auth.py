"""`jobdeck users …` and `jobdeck tokens …`: who may sign in, and the API tokens programs send."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from jobdeck.auth import passwords, secrets
from jobdeck.auth.roles import TOKEN_ROLES, USER_ROLES
from jobdeck.cli.common import DbOption, fail, open_store, out, settings_for
from jobdeck.control import audit
from jobdeck.store import auth as rows

users = typer.Typer(help="Users who sign in to the dashboard, and their roles.", no_args_is_help=True)
tokens = typer.Typer(
    help="API tokens (Authorization: Bearer …), shown once and stored hashed.", no_args_is_help=True
)

USER_ROLE_NAMES = [r.value for r in USER_ROLES]
TOKEN_ROLE_NAMES = [r.value for r in TOKEN_ROLES]
BY = "cli"


def _role(value: str, allowed: list[str]) -> str:
    if value not in allowed:
        fail(f"unknown role {value!r}: choose one of {', '.join(allowed)}")
    return value


def _password(from_stdin: bool) -> str:
    """A new password: a line of stdin, or asked twice at a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            fail("the two passwords differ")
    if len(password) < passwords.MIN_LENGTH:
        fail(f"a password needs at least {passwords.MIN_LENGTH} characters")
    return password


StdinOption = Annotated[bool, typer.Option("--password-stdin", help="Read the password from a line of stdin")]


@users.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name")],
    role: Annotated[str, typer.Option(help="viewer, operator or admin")] = "viewer",
    password_stdin: StdinOption = False,
    db: DbOption = None,
) -> None:
    """Add a user with a role; the password is asked for (or read from stdin)."""
    _role(role, USER_ROLE_NAMES)
    if not name.strip() or len(name) > 200:
        fail("a user name needs 1 to 200 characters")
    password = _password(password_stdin)
    store = open_store(settings_for(db))
    try:
        rows.add_user(store, name, passwords.hash_password(password), role, datetime.now(UTC))
    except rows.NameTaken as exc:
        fail(str(exc))
    audit.record("user", name, BY, "added", f"role {role}", store=store, address="local")
    out.print(f"added user {name} ({role})", highlight=False)


@users.command("list")
def users_list(db: DbOption = None) -> None:
    """Every user and their role."""
    for user in rows.list_users(open_store(settings_for(db))):
        out.print(f"{user.name}\t{user.role}\t{user.created_at:%Y-%m-%d %H:%M}", highlight=False)


@users.command("remove")
def users_remove(name: str, db: DbOption = None) -> None:
    """Remove a user (their sessions end)."""
    store = open_store(settings_for(db))
    if not rows.remove_user(store, name):
        fail(f"no user named {name!r}")
    audit.record("user", name, BY, "removed", "", store=store, address="local")
    out.print(f"removed user {name}", highlight=False)


@users.command("passwd")
def users_passwd(name: str, password_stdin: StdinOption = False, db: DbOption = None) -> None:
    """Set a user's password (their sessions end)."""
    store = open_store(settings_for(db))
    if rows.user_named(store, name) is None:
        fail(f"no user named {name!r}")
    rows.set_password(store, name, passwords.hash_password(_password(password_stdin)))
    audit.record("user", name, BY, "password changed", "", store=store, address="local")
    out.print(f"password of {name} changed", highlight=False)


@tokens.command("create")
def tokens_create(
    name: Annotated[str, typer.Option("--name", help="A name to list and revoke it by")],
    role: Annotated[
        str, typer.Option(help="viewer, operator, admin or ingest (posts events only)")
    ] = "ingest",
    db: DbOption = None,
) -> None:
    """Create a token; it is printed once, as the last word, and only its hash is kept."""
    _role(role, TOKEN_ROLE_NAMES)
    if not name.strip() or len(name) > 200:
        fail("a token name needs 1 to 200 characters")
    store = open_store(settings_for(db))
    token = secrets.new_token()
    try:
        rows.add_token(store, name, token[:8], secrets.digest(token), role, datetime.now(UTC))
    except rows.NameTaken as exc:
        fail(str(exc))
    audit.record("token", name, BY, "created", f"role {role}", store=store, address="local")
    out.print(f"token {name} ({role}), shown only now: {token}", highlight=False, soft_wrap=True)


@tokens.command("list")
def tokens_list(db: DbOption = None) -> None:
    """Every token: name, role, start of the token, created, revoked."""
    for t in rows.list_tokens(open_store(settings_for(db))):
        revoked = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        out.print(
            f"{t.name}\t{t.role}\t{t.prefix}…\t{t.created_at:%Y-%m-%d %H:%M}\t{revoked}", highlight=False
        )


@tokens.command("revoke")
def tokens_revoke(name: str, db: DbOption = None) -> None:
    """Revoke a token by name: it is refused from now on."""
    store = open_store(settings_for(db))
    if not rows.revoke_token(store, name, datetime.now(UTC)):
        fail(f"no active token named {name!r}")
    audit.record("token", name, BY, "revoked", "", store=store, address="local")
    out.print(f"revoked token {name}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
    app.add_typer(tokens, name="tokens")
