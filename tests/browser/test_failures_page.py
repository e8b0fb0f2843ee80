"""The failures page in Chromium: a group opens its sample traceback and links to its run."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import SLOW_JOB, LiveServer


def test_a_failure_group_shows_its_traceback_and_run(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/failures?hours=6"))
    group = page.locator("li.jd-failure").filter(has_text="badge service timed out")
    expect(group).to_have_count(1)
    expect(group).to_contain_text(SLOW_JOB)
    clip = page.locator("li.jd-failure").filter(has_text="order <n> not found").first
    clip.get_by_text("Sample traceback").click()
    expect(clip.locator("pre.jd-traceback")).to_be_visible()
    group.get_by_role("link", name="rep-5").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("rep-5")
    assert page.jd_errors == []
