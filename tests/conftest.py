"""Repository-wide test configuration.

One Chromium per test session (``browser``), shared by every test that drives a page:
Playwright's sync API allows only one running instance per thread.

Each pytest process gets its own PostgreSQL test database (``test_<name>_<pid>``), so
several runs on one machine (developers, CI, a benchmark) never drop each other's
database.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

pytest_plugins = ["checkout.testing.pytest_plugin"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    from django.conf import settings

    for db in settings.DATABASES.values():
        if "postgresql" not in db["ENGINE"]:
            continue
        test = db.setdefault("TEST", {})
        base = test.get("NAME") or f"test_{db['NAME']}"
        test["NAME"] = f"{base}_{os.getpid()}"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM} (make browser)", pytrace=False)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def _forget_request_notes() -> Iterator[None]:
    """Forget what requests taught the checks (refused webhook deliveries, proxies seen).

    The app notes them in the cache for checkout.W031/W032 and the doctor; in one test
    process the cache outlives a test, so one test's requests must not warn in the next.
    """
    yield
    from checkout.proxies import proxy_sightings_forget
    from checkout.services.webhook_health import webhook_refusals_forget

    # A test that stopped its cache server has nothing to forget there.
    with contextlib.suppress(Exception):
        proxy_sightings_forget()
        for source in ("spectra", "stripe"):
            webhook_refusals_forget(source=source)
