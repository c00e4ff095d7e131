"""A merchant's own Django site, with the built wheel installed as docs/install.md says,
bought from in Chromium.

``django-admin startproject`` makes the site. Before the checkout it gets what a shop of
its own has (the files under ``merchant/``): a ``store`` app with a ``Product`` model
(its migration made here by ``makemigrations``), a home page and product pages, logging
in and out with ``django.contrib.auth``, and a Bootstrap-style ``base.html`` whose blocks
have names of its own (``extra_css``, ``page``, ``extra_js``; no ``head`` or ``scripts``)
and whose header shows who is signed in, links the cart and "Your orders". Then the
guide's blocks are appended as written: settings, URLs (the checkout under
``checkout/``) and Celery. Its base template, templates setting and demo catalog are for
sites without their own, so this site, having them, leaves them out (test_install.py
covers that site).

``runserver`` serves it against the sandbox and localstripe, and Chromium buys from it
three times: a guest from the merchant's own product page, a signed-in customer (the
order is on their account), and a guest who signs in halfway through (the session key
rotates) and still pays. Each checks what the shopper sees: the order number, the
merchant's header around the checkout, and the checkout's stylesheet and scripts at work.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect

from checkout.testing.servers import LocalstripeProcess, SandboxProcess, free_port
from tests.browser.shopper import GOOD_CARD, expect_confirmation, fill_information, pay, type_card
from tests.integration.install.steps import doc_block, run, runserver, site_env

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(300)]

MERCHANT = Path(__file__).resolve().parent / "merchant"

# What the merchant's own settings and URLs add to startproject's, before the checkout.
MERCHANT_SETTINGS = """
INSTALLED_APPS += ["store"]
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
"""
MERCHANT_URLS = """
from django.urls import include

urlpatterns += [
    path("", include("store.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
]
"""

CUSTOMER = "grace"
CUSTOMER_EMAIL = "grace@example.com"
PASSWORD = "correct horse battery staple"
# --checkout-accent, the colour of the checkout's primary buttons (checkout.css).
ACCENT = "rgb(31, 95, 191)"
# .bg-dark of the merchant's own stylesheet, behind its header.
MERCHANT_DARK = "rgb(33, 37, 41)"


@dataclass(frozen=True)
class MerchantSite:
    url: str
    root: Path
    manage: list[str]
    env: dict[str, str]
    product: str  # the name of the product on sale

    def order_owner(self, number: str) -> str:
        """Return the username the site's database links order ``number`` to ("" if none)."""
        out = run(
            [
                *self.manage,
                "shell",
                "-c",
                "from checkout.models import Order\n"
                f"order = Order.objects.get(order_number={number!r})\n"
                "print('owner:', order.user.get_username() if order.user else '')",
            ],
            cwd=self.root,
            env=self.env,
        )
        match = re.search(r"^owner: ?(.*)$", out, re.M)
        assert match, out
        return match.group(1)


def in_stock_products(sandbox: SandboxProcess) -> list[dict[str, object]]:
    """Two products of the sandbox's catalog with a variant that has stock for the tests."""
    products = requests.get(
        f"{sandbox.api_base}/products",
        headers={"Authorization": f"Bearer {sandbox.test_key}"},
        params={"per_page": 10},
        timeout=10,
    ).json()["data"]
    chosen = []
    for product in products:
        variant = next((v for v in product["variants"] if v["quantity_available"] >= 5), None)
        if variant:
            chosen.append({"name": product["name"], "slug": product["slug"], **variant})
    assert len(chosen) >= 2, products
    return chosen[:2]


@pytest.fixture(scope="module")
def merchant_site(
    installed: Path,
    tmp_path_factory: pytest.TempPathFactory,
    spectra_sandbox: SandboxProcess,
    localstripe: LocalstripeProcess,
) -> Iterator[MerchantSite]:
    spectra_sandbox.reset()
    localstripe.reset()
    site = tmp_path_factory.mktemp("merchant")
    port = free_port()
    env = site_env(installed, site)
    python = str(installed / "python")
    manage = [python, "manage.py"]
    run([str(installed / "django-admin"), "startproject", "mysite", str(site)], cwd=site, env=env)
    settings_py = site / "mysite" / "settings.py"
    urls_py = site / "mysite" / "urls.py"

    # The merchant's shop, before the checkout.
    shutil.copytree(MERCHANT, site, dirs_exist_ok=True)
    with settings_py.open("a") as settings:
        settings.write(MERCHANT_SETTINGS)
    with urls_py.open("a") as urls:
        urls.write(MERCHANT_URLS)
    run([*manage, "makemigrations", "store"], cwd=site, env=env)

    # docs/install.md, steps 2, 3 and 6, as written.
    with settings_py.open("a") as settings:
        settings.write("\n" + doc_block("settings"))
        settings.write("\n" + doc_block("celery-settings"))
    with urls_py.open("a") as urls:
        urls.write("\n" + doc_block("urls"))
    (site / "mysite" / "celery.py").write_text(doc_block("celery"))
    (site / "mysite" / "__init__.py").write_text(doc_block("celery-init"))

    env.update(
        {
            "CHECKOUT_SPECTRA_API_KEY": spectra_sandbox.test_key,
            "CHECKOUT_SPECTRA_API_BASE": spectra_sandbox.api_base,
            "CHECKOUT_SPECTRA_COMMERCE_BASE": spectra_sandbox.commerce_base,
            "CHECKOUT_STRIPE_SECRET_KEY": localstripe.secret_key,
            "CHECKOUT_STRIPE_PUBLISHABLE_KEY": localstripe.publishable_key,
            "CHECKOUT_STRIPE_API_BASE": localstripe.api_base,
            "CHECKOUT_STRIPE_JS_URL": localstripe.js_url,
            "CHECKOUT_SITE_URL": f"http://127.0.0.1:{port}",
        }
    )
    # The check renders the payment page through the merchant's base.html: with blocks
    # of other names it still loads the checkout's CSS, checkout.js and Stripe.js.
    checked = run([*manage, "check"], cwd=site, env=env)
    assert "System check identified no issues" in checked, checked
    run([*manage, "migrate", "--no-input"], cwd=site, env=env)

    # The merchant's catalog (a row per product, keyed by its Spectra variant) and a customer.
    products = in_stock_products(spectra_sandbox)
    rows = ", ".join(
        f"Product(name={p['name']!r}, slug={p['slug']!r}, price={p['price']!r}, "
        f"sku={p['sku']!r}, spectra_variant_id={p['id']!r})"
        for p in products
    )
    run(
        [
            *manage,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model\n"
            "from store.models import Product\n"
            f"Product.objects.bulk_create([{rows}])\n"
            f"get_user_model().objects.create_user({CUSTOMER!r}, {CUSTOMER_EMAIL!r}, "
            f"{PASSWORD!r})",
        ],
        cwd=site,
        env=env,
    )

    with runserver(manage, cwd=site, env=env, port=port, ready_path="/") as url:
        yield MerchantSite(url, site, manage, env, str(products[0]["name"]))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop window of its own (no cookies yet) that fails the test on a JavaScript
    error or anything the page's Content-Security-Policy refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"errors on the merchant's pages: {errors}"


def expect_the_merchants_page_around_the_checkout(page: Page, primary: Locator) -> None:
    """The merchant's header and stylesheet frame the page, and the checkout's stylesheet
    (written into the content: the merchant's base.html has no ``head`` block) styles its
    ``primary`` button."""
    merchant_header = page.get_by_test_id("merchant-header")
    expect(merchant_header).to_be_visible()
    expect(merchant_header.get_by_role("link", name="Northwind Outfitters")).to_be_visible()
    expect(merchant_header.locator("nav")).to_have_css("background-color", MERCHANT_DARK)
    # The checkout's classes are its own (checkout-*): the header's Bootstrap-style
    # .container keeps the merchant's 960 px on the checkout's pages too.
    expect(merchant_header.locator(".container")).to_have_css("max-width", "960px")
    width = merchant_header.locator(".container").evaluate("e => e.getBoundingClientRect().width")
    assert width == 960, width
    expect(primary).to_have_css("background-color", ACCENT)
    page.wait_for_load_state("load")
    loaded = page.evaluate(
        "() => [...document.styleSheets].filter(s => (s.href || '').endsWith("
        "'/static/checkout/checkout.css')).map(s => s.cssRules.length)"
    )
    assert len(loaded) == 1, loaded  # once, though checkout/base.html asks in two places
    assert loaded[0] > 0, loaded


def add_to_cart_from_the_product_page(page: Page, site: MerchantSite) -> None:
    page.goto(site.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Outfitters")
    page.get_by_role("link", name=site.product).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(site.product)
    expect(page).to_have_title(f"{site.product} · Northwind Outfitters")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(f"{site.url}/checkout/cart/")
    expect(page).to_have_title("Your cart · My Shop")
    # The checkout's message, in the merchant's own alert.
    expect(page.locator(".alert-success")).to_have_text(
        re.compile(rf"^{re.escape(site.product)} - .+ was added to your cart\.$")
    )
    expect(page.get_by_test_id("merchant-header").get_by_role("link", name="Cart")).to_have_text(
        "Cart 1"
    )
    expect_the_merchants_page_around_the_checkout(page, page.get_by_role("link", name="Check out"))


def continue_to_payment(page: Page) -> None:
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/checkout/payment/$"))
    # checkout.js and Stripe.js, written at the end of the content, mount the card field.
    page.locator("#card-element input").first.wait_for()
    expect_the_merchants_page_around_the_checkout(page, page.locator("[data-pay-button]"))


def pay_by_card(page: Page) -> str:
    type_card(page, GOOD_CARD)
    pay(page)
    number = expect_confirmation(page)
    expect(page.get_by_test_id("merchant-header")).to_be_visible()
    return number


def log_in(page: Page) -> None:
    """Sign in through the merchant's own header and login page."""
    page.get_by_test_id("merchant-header").get_by_role("link", name="Log in").click()
    expect(page).to_have_title("Log in · Northwind Outfitters")
    page.get_by_label("Username").fill(CUSTOMER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("merchant-header")).to_contain_text(f"Signed in as {CUSTOMER}")


def session_key(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")


def test_a_guest_buys_from_the_merchants_own_product_page(
    merchant_site: MerchantSite, page: Page
) -> None:
    add_to_cart_from_the_product_page(page, merchant_site)
    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(re.compile(r"/checkout/checkout/information/$"))
    expect(page.get_by_label("Email")).to_have_value("")
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/checkout/shipping/$"))
    continue_to_payment(page)
    number = pay_by_card(page)
    expect(page.get_by_test_id("merchant-header")).to_contain_text("Log in")
    assert merchant_site.order_owner(number) == ""  # a guest's order

    page.get_by_role("link", name="Continue shopping").click()
    expect(page).to_have_url(merchant_site.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Outfitters")


def test_a_signed_in_customer_buys_and_finds_the_order_on_their_account(
    merchant_site: MerchantSite, page: Page
) -> None:
    page.goto(merchant_site.url + "/")
    log_in(page)
    expect(page).to_have_url(merchant_site.url + "/")  # LOGIN_REDIRECT_URL, or next
    add_to_cart_from_the_product_page(page, merchant_site)
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Email")).to_have_value(CUSTOMER_EMAIL)  # from the account
    fill_information(page, email=CUSTOMER_EMAIL)
    page.get_by_role("button", name="Continue to shipping").click()
    continue_to_payment(page)
    number = pay_by_card(page)
    expect(page.get_by_test_id("merchant-header")).to_contain_text(f"Signed in as {CUSTOMER}")

    page.get_by_test_id("merchant-header").get_by_role("link", name="Your orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your orders")
    expect(page.get_by_test_id("customer-order").filter(has_text=number)).to_have_count(1)
    assert merchant_site.order_owner(number) == CUSTOMER


def test_a_guest_signs_in_after_the_information_step_and_pays(
    merchant_site: MerchantSite, page: Page
) -> None:
    add_to_cart_from_the_product_page(page, merchant_site)
    page.get_by_role("link", name="Check out").click()
    fill_information(page, email=CUSTOMER_EMAIL)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/checkout/shipping/$"))
    guest_session = session_key(page)

    log_in(page)  # from the shipping step, back to it
    expect(page).to_have_url(re.compile(r"/checkout/checkout/shipping/$"))
    assert session_key(page) != guest_session  # Django gave the signed-in shopper a new one
    expect(page.get_by_test_id("merchant-header").get_by_role("link", name="Cart")).to_have_text(
        "Cart 1"
    )
    continue_to_payment(page)
    number = pay_by_card(page)
    assert merchant_site.order_owner(number) == CUSTOMER
