"""Signing in and out: /login (form fields `username` and `password`) and /logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jobdeck.auth import passwords
from jobdeck.auth.principal import address_of, principal_of
from jobdeck.auth.sessions import COOKIE, SessionCookies
from jobdeck.auth.throttle import LoginThrottle
from jobdeck.control import audit
from jobdeck.store import auth as rows
from jobdeck.web.deps import SettingsDep, StoreDep
from jobdeck.web.pages.rendering import prefixed, render

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this app only (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/login", response_class=HTMLResponse, name="login_page")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse, name="login")
def login(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; a session cookie and the page asked for, or the form again with why not."""
    throttle: LoginThrottle = request.app.state.login_throttle
    cookies: SessionCookies = request.app.state.session_cookies
    address = address_of(request)
    context = {"next": safe_next(next), "username": username}
    wait = throttle.retry_after(username, address)
    if wait is not None:
        audit.record("login", username, username, "throttled", "", store=store, address=address)
        refused = render(
            request,
            "login.html",
            {**context, "error": f"Too many failed sign-ins. Try again in {wait} s."},
            429,
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    user = rows.user_named(store, username)
    if not passwords.verify(user.password_hash if user else None, password) or user is None:
        audit.record(
            "login", username, username, "failed", "wrong name or password", store=store, address=address
        )
        return render(request, "login.html", {**context, "error": "Wrong name or password."}, 401)
    started = cookies.start(store, user.id)
    audit.record("login", username, username, "ok", "", store=store, address=address)
    response = RedirectResponse(prefixed(request, safe_next(next)), status_code=303)
    secure = settings.cookie_secure or request.url.scheme == "https"
    response.set_cookie(
        COOKIE,
        started.cookie,
        max_age=int(cookies.lifetime.total_seconds()),
        path=prefixed(request, "/") or "/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    return response


@router.post("/logout", name="logout")
def logout(request: Request, store: StoreDep) -> Response:
    """End the session and forget its cookie."""
    principal = principal_of(request)
    if principal is not None and principal.session_hash is not None:
        rows.end_session(store, principal.session_hash)
        audit.record(
            "logout", principal.name, principal.name, "ok", "", store=store, address=address_of(request)
        )
    response = RedirectResponse(prefixed(request, "/login"), status_code=303)
    response.delete_cookie(COOKIE, path=prefixed(request, "/") or "/")
    return response
