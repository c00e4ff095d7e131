"""Browser-test fixtures: Chromium through Playwright (sync API) against the live server,
with the app pointed at the sandbox and localstripe fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, BrowserContext, Page

from checkout.services.payments import clear_stripe_clients
from checkout.services.spectra import clear_spectra_clients
from checkout.testing.servers import LocalstripeProcess, SandboxProcess

# Playwright's sync API keeps an event loop running in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to var/ (ignored by git) unless SCREENSHOTS_DIR names another folder:
# `make screenshots` refreshes the documented ones in docs/screenshots.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")


@pytest.fixture
def shop_url(
    live_server: Any,
    settings: Any,
    sandbox_reset: SandboxProcess,
    localstripe: LocalstripeProcess,
) -> Iterator[str]:
    """The live server's URL, with the app pointed at a fresh sandbox and localstripe."""
    settings.CHECKOUT_SPECTRA_API_BASE = sandbox_reset.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = sandbox_reset.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = sandbox_reset.test_key
    settings.CHECKOUT_STRIPE_API_BASE = localstripe.api_base
    settings.CHECKOUT_STRIPE_SECRET_KEY = localstripe.secret_key
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    settings.CHECKOUT_STRIPE_JS_URL = localstripe.js_url
    settings.CHECKOUT_PAYMENT_UI = "card_element"  # all localstripe can run
    cache.clear()
    clear_spectra_clients()
    clear_stripe_clients()
    yield str(live_server.url)
    clear_spectra_clients()
    clear_stripe_clients()


# Every browser test runs on a phone and on a desktop window. The phone is the width the
# checkout is designed for first (the order summary folds below 900 px).
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def is_phone(page: Page) -> bool:
    """Return whether ``page`` runs in the phone-sized window."""
    size = page.viewport_size
    return bool(size and size["width"] < 900)


def open_context(browser: Browser, device: str, **options: Any) -> BrowserContext:
    """Return a new browser context with the window of ``device`` ("desktop", "phone")."""
    context = browser.new_context(**VIEWPORTS[device], **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture(params=sorted(VIEWPORTS))
def device(request: pytest.FixtureRequest) -> str:
    """The window a browser test runs in: each test runs once per entry of VIEWPORTS."""
    return str(request.param)


@pytest.fixture
def page(browser: Browser, device: str) -> Iterator[Page]:
    context = open_context(browser, device)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def screenshot(page: Page, name: str, *, full_page: bool = True, folder: str = "") -> None:
    """Save ``<SCREENSHOTS>/<name>.png`` (desktop) or ``<SCREENSHOTS>/phone/<name>.png``:
    the look of each step at both sizes (docs/screenshots/). A ``folder`` keeps a set of
    its own (``de-phone``: one purchase, step by step)."""
    folder_path = SCREENSHOTS / (folder or ("phone" if is_phone(page) else ""))
    folder_path.mkdir(parents=True, exist_ok=True)
    if full_page:
        # The whole page as it reads from the top (the sticky summary where it starts).
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder_path / f"{name}.png"), full_page=full_page)
