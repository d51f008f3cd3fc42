"""In Chromium: the demo teacher signs in, sees the course, switches to Chinese navigation."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.demo import DEMO_COURSE_TITLE, DEMO_PASSWORD, DEMO_TEACHER
from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser


def test_demo_teacher_signs_in_sees_course_and_switches_to_chinese(page, asgi_live_server):
    call_command("seed_demo", verbosity=0)

    page.goto("/")
    expect(page).to_have_url(f"{asgi_live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill(DEMO_TEACHER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Your courses")).to_be_visible()
    expect(page.get_by_text(DEMO_COURSE_TITLE)).to_be_visible()
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Classes")).to_be_visible()
    assert save_screenshot(page, "foundation-teacher-home-en").stat().st_size > 10_000

    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Change").click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    chinese_navigation = page.get_by_role("navigation", name="主导航")
    expect(chinese_navigation.get_by_role("link", name="班级")).to_be_visible()
    expect(chinese_navigation.get_by_role("link", name="课程")).to_be_visible()
    expect(page.get_by_text(DEMO_COURSE_TITLE)).to_be_visible()
    assert save_screenshot(page, "foundation-teacher-home-zh").stat().st_size > 10_000


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(signed_in_page, alice):
    page = signed_in_page(alice)
    page.goto("/")
    expect(page.get_by_role("heading", name="Your classes")).to_be_visible()

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")

    expect(page.locator("main")).to_be_focused()


def test_live_server_reports_healthy_parts_over_asgi(page):
    response = page.request.get("/healthz")

    report = response.json()
    assert response.status == 200, report
    # Anonymous callers see only up or down; "ok" needs the channel layer (a required part).
    assert report == {"status": "ok"}
