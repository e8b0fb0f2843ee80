"""The Schedules pages in Chromium: the form shows a 422 beside its field and creates a schedule
from a preset; the list pauses, resumes, runs now and deletes (after a confirmation)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from jobdeck.store import schedules as rows
from tests.browser.conftest import LiveServer


def test_create_pause_run_and_delete_a_schedule(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/schedules/new"))
    page.get_by_label("Name", exact=True).fill("browser export")
    page.get_by_label("Command", exact=True).fill("sh -c 'exit 0'")
    page.locator("input[name=cron]").fill("61 * * * *")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("alert")).to_contain_text("Not saved: cron:")
    expect(page.locator(".jd-field-error")).to_contain_text("not a valid cron expression")
    page.locator("select[name=preset]").select_option("weekdays")
    page.locator("input[name=preset_time]").fill("07:15")
    page.locator("input[name=preset_time]").dispatch_event("change")
    expect(page.locator("input[name=cron]")).to_have_value("15 7 * * 1-5")
    page.get_by_role("button", name="Create schedule").click()
    page.wait_for_url("**/schedules")
    row = page.locator("tr", has_text="browser export")
    expect(row).to_contain_text("At 07:15 on Monday through Friday")
    expect(row.locator("[data-countdown]")).to_contain_text("in ")
    with live_server.store.read() as conn:
        [stored] = [r for r in rows.list_all(conn) if r["name"] == "browser export"]
    assert stored["definition"]["target"]["command"] == ["sh", "-c", "exit 0"]

    row.get_by_role("button", name="Pause").click()
    expect(page.locator("tr", has_text="browser export")).to_contain_text("paused")
    page.locator("tr", has_text="browser export").get_by_role("button", name="Resume").click()
    expect(page.locator("tr", has_text="browser export").get_by_role("button", name="Pause")).to_be_visible()
    page.locator("tr", has_text="browser export").get_by_role("button", name="Run now").click()
    expect(page.locator("#jd-action-result")).to_contain_text("Started run")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("tr", has_text="browser export").get_by_role("button", name="Delete").click()
    expect(page.locator("tr", has_text="browser export")).to_have_count(1)  # not confirmed: kept
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="browser export").get_by_role("button", name="Delete").click()
    expect(page.locator("tr", has_text="browser export")).to_have_count(0)
    with live_server.store.read() as conn:
        assert not [r for r in rows.list_all(conn) if r["name"] == "browser export"]
