"""The built package works on its own: a wheel installed into a clean venv, with no Node.js on PATH, serves
the overview and every script and style sheet it loads; a build without the front-end files is refused.

Slow (it builds the package and installs it with its dependencies, about a minute): marked `slow`, and
still part of `make test`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.acceptance.test_cli import free_port

# Building and installing take minutes on a busy machine, beyond the suite's usual limit per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
VENDOR = Path("src/jobdeck/web/static/vendor")
FRONT_END = ("htmx.min.js", "echarts.min.js")
# Swagger UI for /docs, served by the package like the overview's scripts.
DOCS_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")


def build(source: Path, out: Path, *which: str) -> subprocess.CompletedProcess[str]:
    """`python -m build` on a source tree (an isolated build environment, as `make dist` uses)."""
    return subprocess.run(
        [sys.executable, "-m", "build", *which, "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist and a wheel built from it, as `make dist` builds them."""
    if not all((ROOT / VENDOR / name).is_file() for name in FRONT_END + DOCS_FILES):
        pytest.fail("the front-end files are missing: run `make assets` (make test does) first")
    out = tmp_path_factory.mktemp("dist")
    built = build(ROOT, out)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def test_the_wheel_and_sdist_hold_the_front_end_files(dist: Path) -> None:
    (wheel,) = dist.glob("jobdeck-*.whl")
    (sdist,) = dist.glob("jobdeck-*.tar.gz")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert {f"jobdeck/web/static/vendor/{name}" for name in FRONT_END + DOCS_FILES} <= in_wheel
    assert not any(name.startswith(("tests/", "node_modules/")) for name in in_wheel)
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {str(VENDOR / name) for name in FRONT_END + DOCS_FILES} | {
        "hatch_build.py",
        "pyproject.toml",
    } <= in_sdist


def test_the_installed_wheel_serves_the_overview_without_node(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("jobdeck-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    installed = subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            str(ROOT / "constraints.txt"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    # Only the venv's own scripts on PATH: no node, no npm, nothing from the source tree.
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    if "JOBDECK_CONTROL_KEY_FILE" in os.environ:
        env["JOBDECK_CONTROL_KEY_FILE"] = os.environ["JOBDECK_CONTROL_KEY_FILE"]
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("npm", path=env["PATH"]) is None
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import jobdeck; print(jobdeck.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(env_dir), where

    port = free_port()
    server = subprocess.Popen(
        [
            str(bin_dir / "jobdeck"),
            "serve",
            "--db",
            f"sqlite:///{tmp_path / 'jobdeck.db'}",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "jobdeck serve did not answer within 60 s"
            time.sleep(0.2)
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        urls = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page.text)
        urls += re.findall(r'<link[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"', page.text)
        assert {f"/static/vendor/{name}" for name in FRONT_END} <= set(urls), urls
        docs = httpx.get(f"{base}/docs", timeout=10).text
        urls += re.findall(r"""(?:src|href)=["'](/static/vendor/[^"']+)["']""", docs)
        assert {f"/static/vendor/{name}" for name in DOCS_FILES} <= set(urls), urls
        for url in urls:
            answer = httpx.get(base + url if url.startswith("/") else url, timeout=10)
            assert answer.status_code == 200, url
            assert answer.content, url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


@pytest.mark.parametrize("target", ["--sdist", "--wheel"])
def test_a_build_without_the_front_end_files_is_refused(tmp_path: Path, target: str) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("vendor", "__pycache__"))
    assert not (source / VENDOR).exists()
    built = build(source, tmp_path / "dist", target)
    assert built.returncode != 0
    assert "front-end files are missing" in built.stdout + built.stderr
    assert "make assets" in built.stdout + built.stderr
    assert not list((tmp_path / "dist").glob("jobdeck-*"))
