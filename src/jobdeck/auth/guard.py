"""The guard: every HTTP request is matched to its route, whose rule (auth/rules.py) says what it needs.

No credentials: 401 (a page read redirects to /login); a role that does not include the need: 403. A
state-changing request made with a session cookie must carry the session's CSRF token (the
X-CSRF-Token header, which the pages' htmx sends, or a `csrf_token` form field); token calls need none.
When jobdeck runs open (no `--auth`, on loopback) everyone is an admin, and state-changing requests a
browser sends from a page of another site are refused (Sec-Fetch-Site), since there is no session.

Every change an operator or admin makes (schedules, channels, alert rules, silences, anything a later
route adds) goes on the audit trail with its result, here in one place, so that no new route can
forget it; the routes that audit themselves in more detail (actions on runs, sign-in) are named in
SELF_AUDITED so that they are not written twice.
"""

from __future__ import annotations

import json
from functools import partial
from urllib.parse import parse_qs, quote

from anyio import to_thread
from fastapi.routing import iter_route_contexts
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobdeck.auth import secrets
from jobdeck.auth.principal import ANYONE, Principal
from jobdeck.auth.roles import Need, Role, allows
from jobdeck.auth.rules import SAFE_METHODS, need_of
from jobdeck.auth.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, SessionCookies
from jobdeck.control import audit
from jobdeck.store import auth as rows
from jobdeck.store.store import Store

MAX_FORM_BYTES = 64 * 1024
UNMATCHED = ""
# Routes whose handlers write their own audit entries (the control plane's, sign-in and sign-out).
SELF_AUDITED = frozenset(
    {
        "/login",
        "/logout",
        "/api/v1/runs/{run_id:path}/stop",
        "/api/v1/runs/{run_id:path}/retry",
        "/fragments/runs/{run_id:path}/stop",
        "/fragments/runs/{run_id:path}/retry",
        "/api/v1/runs/{run_id:path}/terminate",
        "/fragments/runs/{run_id:path}/terminate",
        "/api/v1/jobs/{job:path}/retry-failed",
        "/fragments/jobs/{job:path}/retry-failed",
        "/api/v1/queues/{name:path}/purge",
        "/api/v1/queues/{system}/{queue}/jobs/{job_id}/{action}",
    }
)
AUDITED_NEEDS = frozenset({Need.OPERATOR, Need.ADMIN})


class AuthGuard:
    """ASGI middleware enforcing the rule table for the app whose routes it is given."""

    def __init__(
        self,
        app: ASGIApp,
        routes: object,
        store: Store,
        cookies: SessionCookies,
        *,
        enabled: bool,
        metrics_open: bool,
    ) -> None:
        self.app = app
        self.routes = routes
        self.store = store
        self.cookies = cookies
        self.enabled = enabled
        self.metrics_open = metrics_open

    def template_of(self, scope: Scope) -> str | None:
        """The matched route's path template; None for a mount (static files); UNMATCHED for none."""
        for context in iter_route_contexts(self.routes):  # type: ignore[arg-type]
            match, _ = context.route.matches(scope)
            if match == Match.FULL:
                return None if isinstance(context.route, Mount) else str(getattr(context.route, "path", ""))
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        template = self.template_of(scope)
        rule_method = "GET" if method == "HEAD" else method
        need = Need.OPEN if template is None else need_of(rule_method, template or scope["path"])
        if template == "/metrics" and self.metrics_open:
            need = Need.OPEN
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        unsafe = method not in SAFE_METHODS

        audited = unsafe and bool(template) and need in AUDITED_NEEDS and template not in SELF_AUDITED
        if not self.enabled:
            scope["jobdeck.principal"] = ANYONE
            site = headers.get("sec-fetch-site")
            if unsafe and site not in (None, "same-origin", "none"):
                detail = f"requests from pages of other sites are refused (Sec-Fetch-Site: {site})"
                await self.refuse(scope, send, 403, detail, ANYONE)
                return
            await self.forward(scope, receive, send, ANYONE if audited else None, str(template))
            return

        principal, problem = self.principal(headers)
        if principal is not None:
            scope["jobdeck.principal"] = principal
        if unsafe and principal is not None and principal.via == "session" and template != "/login":
            ok, receive = await self.csrf_ok(principal, headers, receive)
            if not ok:
                detail = "missing or wrong CSRF token (X-CSRF-Token header or csrf_token field)"
                await self.refuse(scope, send, 403, detail, principal)
                return
        if need == Need.OPEN and problem is None:
            await self.app(scope, receive, send)
            return
        if principal is None:
            if problem is None and method == "GET" and not scope["path"].startswith(_api_prefixes(scope)):
                await redirect_to_login(scope, send)
                return
            await self.refuse(
                scope, send, 401, problem or "sign in or send an API token (Authorization: Bearer …)"
            )
            return
        if not allows(principal.role, need):
            await self.refuse(
                scope, send, 403, f"{principal.role.value} may not do this: it needs {need.value}", principal
            )
            return
        await self.forward(scope, receive, send, principal if audited else None, str(template))

    async def forward(
        self, scope: Scope, receive: Receive, send: Send, audited: Principal | None, template: str
    ) -> None:
        """Pass the request on; when `audited` (who made a change), the change and its result go on
        the audit trail: done, refused with the status, or failed."""
        if audited is None:
            await self.app(scope, receive, send)
            return
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        outcome = "error"
        try:
            await self.app(scope, receive, sending)
            outcome = "done" if status < 400 else f"refused-{status}"
        finally:
            await self.audit(scope, audited, "change", outcome, f"{scope['method']} {template}")

    async def refuse(
        self, scope: Scope, send: Send, status: int, detail: str, principal: Principal | None = None
    ) -> None:
        """Answer a refusal; a refused state-changing request goes on the audit trail too."""
        if scope["method"] not in SAFE_METHODS:
            await self.audit(scope, principal, "request", f"refused-{status}", detail)
        await deny(send, status, detail)

    async def audit(
        self, scope: Scope, principal: Principal | None, action: str, outcome: str, detail: str
    ) -> None:
        """One audit entry for this request: by whom (user or token, and address), its method and path."""
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        who = f"{principal.name}@" if principal is not None and principal.via != "open" else ""
        target = f"{scope['method']} {scope['path']}"
        record = partial(audit.record, store=self.store, address=address)
        await to_thread.run_sync(record, action, target, f"{who}{address}/http", outcome, detail)

    def principal(self, headers: dict[str, str]) -> tuple[Principal | None, str | None]:
        """The principal of a request's credentials, or why they were refused."""
        authorization = headers.get("authorization")
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return None, "Authorization must be 'Bearer <token>'"
            token = rows.token_by_hash(self.store, secrets.digest(value.strip()))
            if token is None:
                return None, "unknown or revoked token"
            return Principal(f"token:{token.name}", Role(token.role), "token"), None
        cookie = _cookie(headers.get("cookie", ""), COOKIE)
        if cookie:
            found = self.cookies.find(self.store, cookie)
            if found is not None:
                id_hash, session = found
                user = session.user
                return Principal(user.name, Role(user.role), "session", session.csrf_token, id_hash), None
        return None, None

    async def csrf_ok(
        self, principal: Principal, headers: dict[str, str], receive: Receive
    ) -> tuple[bool, Receive]:
        """Whether the request carries the session's CSRF token; a form body read for it is replayed."""
        expected = principal.csrf_token or ""
        sent = headers.get(CSRF_HEADER)
        if sent is not None:
            return secrets.same(sent, expected), receive
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return False, receive
        body, messages = b"", []
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if len(body) > MAX_FORM_BYTES:
                return False, receive
            if not message.get("more_body", False):
                break
        fields = parse_qs(body.decode("latin-1"))
        ok = secrets.same((fields.get(CSRF_FIELD) or [""])[0], expected)
        return ok, _replay(messages, receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _api_prefixes(scope: Scope) -> tuple[str, ...]:
    root = str(scope.get("root_path", "")).rstrip("/")
    return tuple(root + p for p in ("/api/", "/metrics", "/fragments/", "/openapi.json", "/ping/"))


async def deny(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="jobdeck"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def redirect_to_login(scope: Scope, send: Send) -> None:
    root = str(scope.get("root_path", "")).rstrip("/")
    path = scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    target = path[len(root) :] if root and path.startswith(root) else path
    if query:
        target += "?" + query
    location = f"{root}/login?next={quote(target, safe='')}"
    await send(
        {"type": "http.response.start", "status": 303, "headers": [(b"location", location.encode("latin-1"))]}
    )
    await send({"type": "http.response.body", "body": b""})
