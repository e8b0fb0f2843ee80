"""Users, API tokens and sessions: the rows sign-in and tokens are checked against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from jobdeck.store.schema import api_tokens, sessions, users
from jobdeck.store.store import Store


class NameTaken(ValueError):
    """A user or token of that name exists already."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


def add_user(store: Store, name: str, password_hash: str, role: str, now: datetime) -> None:
    try:
        with store.write() as conn:
            conn.execute(
                insert(users).values(name=name, password_hash=password_hash, role=role, created_at=now)
            )
    except IntegrityError:
        raise NameTaken(f"a user named {name!r} exists already") from None


def _user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    return User(m["id"], m["name"], m["role"], m["password_hash"], m["created_at"])


def user_named(store: Store, name: str) -> User | None:
    with store.read() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


def list_users(store: Store) -> list[User]:
    with store.read() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.name))]


def remove_user(store: Store, name: str) -> bool:
    """Remove a user and end their sessions; False if there was none."""
    with store.write() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            return False
        conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        conn.execute(delete(users).where(users.c.id == user_id))
    return True


def set_password(store: Store, name: str, password_hash: str) -> bool:
    """Change a password and end the user's sessions; False if there is no such user."""
    with store.write() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            return False
        conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
        conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
    return True


def add_token(store: Store, name: str, prefix: str, token_hash: str, role: str, now: datetime) -> None:
    try:
        with store.write() as conn:
            conn.execute(
                insert(api_tokens).values(
                    name=name, prefix=prefix, token_hash=token_hash, role=role, created_at=now
                )
            )
    except IntegrityError:
        raise NameTaken(f"a token named {name!r} exists already") from None


def _token(row: object) -> Token:
    m = row._mapping  # type: ignore[attr-defined]
    return Token(
        m["id"], m["name"], m["prefix"], m["role"], m["created_at"], m["last_used_at"], m["revoked_at"]
    )


def list_tokens(store: Store) -> list[Token]:
    with store.read() as conn:
        return [_token(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.name))]


def token_by_hash(store: Store, token_hash: str) -> Token | None:
    """The token with this hash, if it is not revoked."""
    with store.read() as conn:
        row = conn.execute(
            select(api_tokens).where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        ).first()
    return _token(row) if row else None


def revoke_token(store: Store, name: str, now: datetime) -> bool:
    """Revoke a token by name; False if there is no such live token."""
    with store.write() as conn:
        done = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    return bool(done.rowcount)


def add_session(
    store: Store, id_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
) -> None:
    with store.write() as conn:
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))
        conn.execute(
            insert(sessions).values(
                id_hash=id_hash, user_id=user_id, csrf_token=csrf_token, created_at=now, expires_at=expires_at
            )
        )


def session_by_hash(store: Store, id_hash: str, now: datetime) -> Session | None:
    """The live session with this id hash and its user."""
    with store.read() as conn:
        row = conn.execute(
            select(sessions.c.csrf_token, sessions.c.expires_at, users)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id_hash == id_hash, sessions.c.expires_at > now)
        ).first()
    if row is None:
        return None
    return Session(_user(row), row.csrf_token, row.expires_at)


def end_session(store: Store, id_hash: str) -> None:
    with store.write() as conn:
        conn.execute(delete(sessions).where(sessions.c.id_hash == id_hash))
