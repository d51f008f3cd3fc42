"""Playwright fixtures: Debian's Chromium, signed-in pages on the live ASGI server, screenshots.

Browser tests need committed rows (daphne runs in another process): use `transactional_db`.
Never run `playwright install`; Chromium comes from Debian (`make test` installs it).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from accounts.models import User
from tests.conftest import REPO_ROOT

CHROMIUM_PATH = Path(os.environ.get("LECTERN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 800}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="package", autouse=True)
def allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API leaves an event loop marked as running in this thread, which
    makes Django refuse ORM calls; the tests' own ORM use is synchronous and safe."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser(allow_orm_beside_playwright) -> Iterator[Browser]:
    """Headless Chromium for the browser tests, closed when they are done."""
    if not CHROMIUM_PATH.exists():
        pytest.fail(f"{CHROMIUM_PATH} is missing: install Debian's chromium (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def wait_until_the_server_is_quiet(timeout_s: float = 10.0) -> None:
    """Call after closing pages, before the database is flushed: their last requests (the
    player's batch sent on pagehide) may still run in the live server, and a flush beside
    them deadlocked on PostgreSQL (TRUNCATE against the events' row locks)."""
    time.sleep(0.3)  # a request sent as the page closed reaches the server
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout_s
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


def _new_context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser, asgi_live_server, transactional_db) -> Iterator[Page]:
    """A signed-out page on the live server."""
    context = _new_context(browser, asgi_live_server.url)
    yield context.new_page()
    context.close()
    wait_until_the_server_is_quiet()


@pytest.fixture
def signed_in_page(browser, asgi_live_server, transactional_db) -> Iterator[Callable[[User], Page]]:
    """Factory: `signed_in_page(user)` gives a page whose browser holds user's session."""
    contexts: list[BrowserContext] = []

    def make(user: User) -> Page:
        client = Client()
        client.force_login(user)
        context = _new_context(browser, asgi_live_server.url)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": asgi_live_server.url,
                }
            ]
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    wait_until_the_server_is_quiet()


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as test-artifacts/<name>.png and return its path."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
