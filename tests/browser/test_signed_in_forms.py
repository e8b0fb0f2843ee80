"""With sign-in on, the pages' own forms and scripts carry the session's CSRF token: a silence added
with the alerts page's form, and a schedule paused with the schedules page's script (fetch)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobdeck.config import Settings
from jobdeck.store import audit as audit_rows
from tests.auth_helpers import PASSWORD, add_user
from tests.browser.conftest import LiveServer, filled_store, serve


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store = filled_store(tmp_path_factory.mktemp("forms"))
    add_user(store, "otto", "operator")
    with serve(store, settings=Settings(database_url=store.url, auth=True)) as server:
        yield server
    store.close()


def test_a_form_post_carries_the_csrf_token(browser: Any, secured: LiveServer) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(secured.path("/alerts"))
    page.fill("input[name=username]", "otto")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(secured.path("/alerts"))
    page.fill(".jd-silence-form input[name=comment]", "maintenance")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click(".jd-silence-form button[type=submit]")
    assert answer.value.status < 400, answer.value.status
    refused = audit_rows.entries(secured.store, action="request")
    assert refused == []
    context.close()


def test_a_script_fetch_carries_the_csrf_token(browser: Any, secured: LiveServer) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(secured.path("/login"))
    page.fill("input[name=username]", "otto")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(secured.path("/"))
    status = page.evaluate(
        """() => fetch(location.origin + '/api/v1/safety/cleanup-stale', {method: 'POST'})
                 .then(r => r.status)"""
    )
    assert status == 200
    context.close()
