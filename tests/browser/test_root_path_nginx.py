"""`--root-path` behind a real nginx (Debian's package), which strips the prefix or keeps it: every page,
asset, API call and job page answers under the prefix, and the browser can walk from the overview to a
job page and draw its charts. The test starts its own nginx, with its own config, on a free port."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.config import Settings
from tests.browser.conftest import filled_store, free_port, serve, watch_errors
from tests.services import unavailable

pytestmark = pytest.mark.browser
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# The README's example, a nested one, and one that is also a path of the app (which a stripping
# proxy then names in X-Forwarded-Prefix: without it `/runs/runs` could be either page).
PREFIXES = ("/jobs", "/tools/jobdeck", "/runs")


def nginx_config(tmp: Path, app_port: int, ports: dict[tuple[str, str], int]) -> str:
    servers = []
    for (prefix, mode), port in ports.items():
        # proxy_pass with a URI ("/") replaces the matched prefix: the app sees /runs for /jobs/runs.
        target = f"http://127.0.0.1:{app_port}/" if mode == "stripped" else f"http://127.0.0.1:{app_port}"
        forwarded = f"proxy_set_header X-Forwarded-Prefix {prefix};" if mode == "stripped" else ""
        servers.append(
            f"""server {{
        listen 127.0.0.1:{port};
        location {prefix}/ {{
            proxy_pass {target};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_buffering off;
            {forwarded if prefix == "/runs" else ""}
        }}
    }}"""
        )
    temp = tmp / "temp"
    temp.mkdir(exist_ok=True)
    return f"""
master_process off;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    {chr(10).join(servers)}
}}
"""


@pytest.fixture(scope="module", params=PREFIXES)
def proxied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The app with `--root-path PREFIX` behind nginx: {"stripped": url, "kept": url}, each ending
    in PREFIX."""
    if not Path(NGINX).exists():
        unavailable("nginx", f"{NGINX} does not exist (apt-get install nginx)")
    prefix: str = request.param
    tmp = tmp_path_factory.mktemp("nginx")
    store = filled_store(tmp)
    settings = Settings(database_url=store.url, root_path=prefix)
    with serve(store, settings=settings) as server:
        app_port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        ports = {(prefix, mode): free_port() for mode in ("stripped", "kept")}
        conf = tmp / "nginx.conf"
        conf.write_text(nginx_config(tmp, app_port, ports))
        nginx = subprocess.Popen(
            [NGINX, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            urls = {mode: f"http://127.0.0.1:{port}{prefix}" for (_, mode), port in ports.items()}
            deadline = time.monotonic() + 10
            while True:
                try:
                    httpx.get(urls["kept"] + "/api/v1/stats", timeout=2)
                    break
                except httpx.TransportError:
                    if nginx.poll() is not None or time.monotonic() > deadline:
                        log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                        raise RuntimeError(f"nginx did not start: {log}") from None
                    time.sleep(0.1)
            yield urls
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    store.close()


@pytest.mark.parametrize("mode", ["stripped", "kept"])
def test_every_page_answers_under_the_prefix(proxied: dict[str, str], mode: str) -> None:
    base = proxied[mode]
    prefix = "/" + base.split("/", 3)[3]
    for path in (
        "/",
        "/jobs/clip_sync",
        "/jobs/reputation_tasks",
        "/runs",
        "/runs/rep-5",
        "/failures",
        "/control",
        "/docs",
        "/api/v1/stats",
        "/api/v1/jobs",
        "/static/css/app.css",
        "/static/vendor/echarts.min.js",
        "/favicon.ico",
    ):
        response = httpx.get(base + path, timeout=10)
        assert response.status_code == 200, (mode, path, response.status_code)
        if response.headers["content-type"].startswith("text/html") and path != "/docs":
            links = re.findall(r'(?:href|src|data-[a-z-]+-url|data-api)="(/[^"]*)"', response.text)
            assert links, path
            assert all(link.startswith(prefix + "/") for link in links), (path, links)
    assert httpx.get(base + "/jobs/nonexistent", timeout=10).status_code == 404
    assert "Job Performance Summary" in httpx.get(base + "/", timeout=10).text
    assert "<h1" in (runs := httpx.get(base + "/runs", timeout=10).text)
    assert "Overview</h1>" not in runs


@pytest.mark.parametrize("mode", ["stripped", "kept"])
def test_the_browser_walks_to_a_job_page(proxied: dict[str, str], mode: str, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(proxied[mode] + "/")
    page.locator('#jd-summary-table tr[data-job="clip_sync"] a').click()
    page.wait_for_url(f"{proxied[mode]}/jobs/clip_sync")
    assert page.locator("h1").inner_text().startswith("clip_sync")
    page.wait_for_selector("#jd-chart-duration canvas")
    page.wait_for_selector("#jd-job-runs-table tbody tr")
    page.wait_for_selector('#jd-live[data-state="live"]')  # the event stream goes through nginx too
    context.close()
    assert errors == []
