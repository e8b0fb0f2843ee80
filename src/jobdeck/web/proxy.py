"""Serving under a path prefix behind a reverse proxy (`--root-path /jobs`)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

FORWARDED_PREFIX = b"x-forwarded-prefix"


class RootPath:
    """Set the ASGI root_path when the server did not, so every link and asset is built under it.

    Works whether the proxy strips the prefix (`/jobs/runs` → `/runs`) or forwards it unchanged. A
    path that starts with the prefix is not proof that the prefix was kept: with `--root-path /jobs`,
    a stripping proxy turns `/jobs/jobs/clip_sync` into `/jobs/clip_sync`, which also starts with it.
    So the path is read the way that reaches one of the app's routes (the prefix kept when both do),
    and an `X-Forwarded-Prefix` equal to the prefix says outright that the proxy stripped it.
    """

    def __init__(self, app: ASGIApp, root_path: str, routes: list[BaseRoute] | None = None) -> None:
        self.app = app
        self.root_path = "/" + root_path.strip("/") if root_path.strip("/") else ""
        self.routes = routes or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.root_path and not scope.get("root_path"):
            scope = dict(scope)
            scope["root_path"] = self.root_path
            if self._stripped(scope):
                # ASGI paths include root_path, so put the prefix back.
                scope["path"] = self.root_path + scope["path"]
                raw = scope.get("raw_path")
                if raw is not None:
                    scope["raw_path"] = self.root_path.encode() + raw
        await self.app(scope, receive, send)

    def _stripped(self, scope: Scope) -> bool:
        """Whether the proxy took the prefix off this request's path."""
        path: str = scope["path"]
        headers = dict(scope.get("headers") or [])
        if headers.get(FORWARDED_PREFIX, b"").decode("latin-1").rstrip("/") == self.root_path:
            return True
        starts = path == self.root_path or path.startswith(self.root_path + "/")
        if not starts:
            return True
        if self._routable(scope, path[len(self.root_path) :] or "/"):
            return False
        # Kept, the rest reaches no route; stripped, the whole path may (`/jobs/clip_sync`).
        return self._routable(scope, path)

    def _routable(self, scope: Scope, path: str) -> bool:
        probe = {**scope, "path": path, "root_path": ""}
        return any(route.matches(probe)[0] != Match.NONE for route in self.routes)
