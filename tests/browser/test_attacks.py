"""The attacks the issue showed, from a real second origin in Chromium: a page served by another local
server (http://localhost:PORT, a different site from the jobdeck server at http://127.0.0.1:PORT)
frames jobdeck, posts events to it and posts actions with the signed-in user's cookie. And XSS
payloads in job names, errors, tracebacks, labels and args render inert on every page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from jobdeck.config import Settings
from jobdeck.events import make_event
from jobdeck.store import audit as audit_rows
from jobdeck.store.store import Store
from tests.auth_helpers import PASSWORD, add_user
from tests.browser.conftest import LiveServer, filled_store, serve
from tests.run_data import NOW

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>"><svg onload="window.__xss=1">'
XSS_JOB = f"job{XSS}"
XSS_RUN = "xss-run"


def xss_events() -> list[Any]:
    at = NOW - timedelta(minutes=30)
    data = {
        "job": XSS_JOB,
        "worker": XSS,
        "queue": XSS,
        "labels": {XSS[:90]: XSS},
        "args": [XSS],
        "kwargs": {"x": XSS},
    }
    failed = {"error_type": XSS[:100], "error_message": XSS, "traceback": f"Traceback:\n{XSS}"}
    return [
        make_event(XSS_RUN, "started", at, data),
        make_event(XSS_RUN, "failed", at + timedelta(seconds=5), failed),
    ]


@contextmanager
def attacker_site(directory: Path) -> Iterator[str]:
    """Another web server, serving the attacker's pages from `directory`, at http://localhost:PORT."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store = filled_store(tmp_path_factory.mktemp("attacks"), xss_events())
    add_user(store, "ada", "admin")
    with serve(store, settings=Settings(database_url=store.url, auth=True)) as server:
        yield server
    store.close()


@pytest.fixture(scope="module")
def signed_in(browser: Any, secured: LiveServer) -> Iterator[Any]:
    """A browser context in which ada (admin) is signed in to the jobdeck server."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(secured.path("/login"))
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(secured.path("/"))
    yield context
    context.close()


def runs_named(store: Store, run_id: str) -> int:
    from jobdeck.store.runs import get_run

    with store.read() as conn:
        return 0 if get_run(conn, run_id) is None else 1


def test_jobdeck_cannot_be_framed(signed_in: Any, secured: LiveServer, tmp_path: Path) -> None:
    (tmp_path / "frame.html").write_text(
        f'<!doctype html><iframe id="f" src="{secured.path("/control")}" width="800" height="600"></iframe>'
    )
    with attacker_site(tmp_path) as site:
        page = signed_in.new_page()
        page.goto(f"{site}/frame.html")
        page.wait_for_timeout(1000)
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed
        # Chromium refuses to render it (frame-ancestors 'none', X-Frame-Options DENY): no buttons to click.
        assert framed[0].locator("button").count() == 0
        assert framed[0].url.startswith("chrome-error://"), framed[0].url
        page.close()


def test_another_site_cannot_post_events(signed_in: Any, secured: LiveServer, tmp_path: Path) -> None:
    events = secured.path("/api/v1/events")
    body = '{"run_id": "injected", "job": "evil", "event": "started"}'
    (tmp_path / "inject.html").write_text(
        f"""<!doctype html>
<form id="f" method="post" action="{events}" enctype="text/plain">
<input name='{body[:-1]}, "x": "' value='"}}'></form>
<script src="inject.js"></script>"""
    )
    (tmp_path / "inject.js").write_text(
        f"""fetch({events!r}, {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: {body!r}}}).finally(function () {{
  document.getElementById("f").submit(); }});"""
    )
    with attacker_site(tmp_path) as site:
        page = signed_in.new_page()
        page.goto(f"{site}/inject.html")
        page.wait_for_timeout(1500)
        page.close()
    assert runs_named(secured.store, "injected") == 0


def test_another_site_cannot_act_with_the_users_cookie(
    signed_in: Any, secured: LiveServer, tmp_path: Path
) -> None:
    stop = secured.path(f"/fragments/runs/{XSS_RUN}/retry")
    (tmp_path / "csrf.html").write_text(
        f'<!doctype html><form id="f" method="post" action="{stop}"><input name="x" value="1"></form>'
        '<script src="csrf.js"></script>'
    )
    (tmp_path / "csrf.js").write_text('document.getElementById("f").submit();')
    with attacker_site(tmp_path) as site:
        page = signed_in.new_page()
        page.goto(f"{site}/csrf.html")
        page.wait_for_timeout(1500)
        page.close()
    retries = audit_rows.entries(secured.store, action="retry")
    assert retries == []
    refused = audit_rows.entries(secured.store, action="request")
    assert any(e.target.endswith("/retry") and e.result in ("refused-401", "refused-403") for e in refused)


def test_an_open_server_refuses_other_sites_too(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = filled_store(tmp_path_factory.mktemp("open"), xss_events())
    folder = tmp_path_factory.mktemp("open-site")
    with serve(store) as server:
        retry = server.path(f"/fragments/runs/{XSS_RUN}/retry")
        (folder / "csrf.html").write_text(
            f'<!doctype html><form id="f" method="post" action="{retry}"></form>'
            '<script src="csrf.js"></script>'
        )
        (folder / "csrf.js").write_text('document.getElementById("f").submit();')
        with attacker_site(folder) as site:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{site}/csrf.html")
            page.wait_for_timeout(1500)
            context.close()
        refused = audit_rows.entries(store, action="request", result="refused-403")
        assert [e.target for e in refused] == [f"POST /fragments/runs/{XSS_RUN}/retry"]
    store.close()


def test_payloads_render_inert_on_every_page(signed_in: Any, secured: LiveServer) -> None:
    page = signed_in.new_page()
    dialogs: list[str] = []
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    paths = [
        "/",
        "/runs",
        f"/runs/{XSS_RUN}",
        "/jobs/" + quote(XSS_JOB, safe=""),
        "/failures",
        "/control",
        "/audit?actor=" + quote(XSS),
        "/runs?q=" + quote(XSS),
    ]
    for path in paths:
        page.goto(secured.path(path))
        page.wait_for_load_state("networkidle")
        time.sleep(0.2)
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("img[src=x]").count() == 0, path
    page.goto(secured.path(f"/runs/{XSS_RUN}"))
    assert XSS in page.content().replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
        "&amp;", "&"
    )
    assert dialogs == []
    # Under the CSP as served: no page needed an inline script or eval.
    assert [m for m in console if "Content Security Policy" in m] == []
    page.close()


def test_dns_rebinding_reads_nothing(browser: Any, secured: LiveServer) -> None:
    """A Chromium whose DNS says the attacker's name is 127.0.0.1 (what a rebinding attack arranges)
    loads the attacker's origin from jobdeck's own port: jobdeck refuses the unknown host name, so
    the attacker's page reads neither runs nor pages — with or without a session."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    port = secured.url.split(":")[2].split("/")[0]
    rules = "--host-resolver-rules=MAP rebind.test 127.0.0.1"
    rebinding = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rules])
    try:
        page = rebinding.new_page()
        for path in ("/api/v1/runs", "/api/health", "/login", "/"):
            answer = page.goto(f"http://rebind.test:{port}{path}")
            assert answer is not None
            assert answer.status == 400, (path, answer.status)
            assert XSS_RUN not in page.content()
        # The same browser reaching jobdeck by its own address is answered as usual.
        assert page.goto(secured.path("/api/health")).status == 200
    finally:
        rebinding.close()
