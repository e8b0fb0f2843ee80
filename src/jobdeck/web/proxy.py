"""Serving under a path prefix behind a reverse proxy (`--root-path /jobs`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class RootPath:
    """Set the ASGI root_path when the server did not, so every link and asset is built under it.

    Works whether the proxy strips the prefix (`/jobs/runs` → `/runs`) or forwards it unchanged.
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = "/" + root_path.strip("/") if root_path.strip("/") else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.root_path and not scope.get("root_path"):
            scope = dict(scope)
            scope["root_path"] = self.root_path
            if not scope["path"].startswith(self.root_path + "/") and scope["path"] != self.root_path:
                # The proxy stripped the prefix: ASGI paths include root_path, so put it back.
                scope["path"] = self.root_path + scope["path"]
                raw = scope.get("raw_path")
                if raw is not None:
                    scope["raw_path"] = self.root_path.encode() + raw
        await self.app(scope, receive, send)
