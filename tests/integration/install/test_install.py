"""The built wheel installs into a Django site of its own by following docs/install.md.

Installs the freshly built wheel into a fresh virtualenv (``installed``, conftest.py),
runs ``django-admin startproject mysite``, gives the site a home page and its own mail
settings, adds the code blocks of docs/install.md to its files exactly as written
(appending to settings.py and urls.py, never replacing them; this site has no templates
or catalog of its own, so it takes the guide's base template and demo catalog), then:
``check`` and ``migrate`` before any key exists, ``check --deploy`` naming the missing
keys, and with keys ``checkout_register_webhook``, ``checkout_doctor``, and ``runserver``
serving the site's own home page, the optional demo catalog under ``shop/``, the cart
under ``checkout/`` and ``cart-add``, all against the sandbox and localstripe. A
merchant's shop with templates, products and logins of its own is
test_merchant_in_browser.py's.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from checkout.testing.servers import LocalstripeProcess, SandboxProcess, free_port
from tests.integration.install.smtp_stub import smtp_stub
from tests.integration.install.steps import doc_block, run, runserver, site_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_the_wheel_ships_compiled_translations(installed: Path, tmp_path: Path) -> None:
    """The .mo files are in the wheel, so an installed site speaks German and French."""
    script = (
        "import django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['checkout'], USE_I18N=True)\n"
        "django.setup()\n"
        "from django.utils import translation\n"
        "for language in ('de', 'fr'):\n"
        "    with translation.override(language):\n"
        "        print(translation.gettext('Your cart'))\n"
    )
    env = {"PATH": f"{installed}:{os.environ.get('PATH', '')}", "HOME": str(tmp_path)}
    out = run([str(installed / "python"), "-c", script], cwd=tmp_path, env=env)
    assert out.splitlines() == ["Ihr Warenkorb", "Votre panier"]


# The merchant's own site before the checkout: a home page and a mail server.
MERCHANT_URLS = """
from django.http import HttpResponse


def home(request):
    return HttpResponse("Welcome to the merchant's own home page")


urlpatterns = [path("", home, name="home"), *urlpatterns]
"""
# Django 6.1's startproject configures email as MAILERS (EMAIL_HOST and EMAIL_PORT then
# refuse to load); earlier releases read EMAIL_HOST and EMAIL_PORT.
MERCHANT_SETTINGS = """
if "MAILERS" in globals():
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": int(os.environ["MERCHANT_SMTP_PORT"])},
        }
    }
    MERCHANT_SMTP_PORT = MAILERS["default"]["OPTIONS"]["port"]
else:
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = MERCHANT_SMTP_PORT = int(os.environ["MERCHANT_SMTP_PORT"])
DEFAULT_FROM_EMAIL = "The Merchant <hello@merchant.example>"
"""


def test_the_documented_steps_give_a_working_shop(
    installed: Path,
    tmp_path: Path,
    sandbox_reset: SandboxProcess,
    localstripe: LocalstripeProcess,
) -> None:
    with smtp_stub() as smtp_port:
        _the_documented_steps(installed, tmp_path, sandbox_reset, localstripe, smtp_port)


def _the_documented_steps(
    installed: Path,
    tmp_path: Path,
    sandbox_reset: SandboxProcess,
    localstripe: LocalstripeProcess,
    smtp_port: int,
) -> None:
    port = free_port()
    env = site_env(installed, tmp_path, MERCHANT_SMTP_PORT=str(smtp_port))
    python = str(installed / "python")
    run(
        [str(installed / "django-admin"), "startproject", "mysite", str(tmp_path)],
        cwd=tmp_path,
        env=env,
    )
    site = tmp_path
    settings_py = site / "mysite" / "settings.py"
    urls_py = site / "mysite" / "urls.py"
    with urls_py.open("a") as urls:
        urls.write(MERCHANT_URLS)
    with settings_py.open("a") as settings:
        settings.write("\nimport os\n" + MERCHANT_SETTINGS)

    # Steps 2-4 and 6 of docs/install.md, as written: every block adds to the site's files.
    with settings_py.open("a") as settings:
        settings.write("\n" + doc_block("settings"))
        settings.write("\n" + doc_block("templates-dir"))
        settings.write("\n" + doc_block("celery-settings"))
    with urls_py.open("a") as urls:
        urls.write("\n" + doc_block("urls"))
        urls.write("\n" + doc_block("storefront-urls"))
    (site / "templates").mkdir()
    (site / "templates" / "base.html").write_text(doc_block("base-template"))
    (site / "mysite" / "celery.py").write_text(doc_block("celery"))
    (site / "mysite" / "__init__.py").write_text(doc_block("celery-init"))

    manage = [python, "manage.py"]
    # The app comes from the wheel, not from the repository.
    where = run([python, "-c", "import checkout; print(checkout.__file__)"], cwd=site, env=env)
    assert str(installed.parent) in where
    # The site's own settings survive the blocks.
    own = run(
        [
            python,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DEFAULT_FROM_EMAIL, s.MERCHANT_SMTP_PORT, s.ROOT_URLCONF)",
        ],
        cwd=site,
        env=env,
    )
    assert own.split() == [
        "The",
        "Merchant",
        "<hello@merchant.example>",
        str(smtp_port),
        "mysite.urls",
    ]

    # Before any key exists the site works: check and migrate pass, check --deploy names
    # the missing keys.
    run([*manage, "check"], cwd=site, env=env)
    run([*manage, "migrate", "--no-input"], cwd=site, env=env)
    deploy = subprocess.run(
        [*manage, "check", "--deploy"],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert deploy.returncode != 0
    for check_id in ("checkout.E001", "checkout.E004", "checkout.E005"):
        assert check_id in deploy.stderr

    env.update(
        {
            "CHECKOUT_SPECTRA_API_KEY": sandbox_reset.test_key,
            "CHECKOUT_SPECTRA_API_BASE": sandbox_reset.api_base,
            "CHECKOUT_SPECTRA_COMMERCE_BASE": sandbox_reset.commerce_base,
            "CHECKOUT_STRIPE_SECRET_KEY": localstripe.secret_key,
            "CHECKOUT_STRIPE_PUBLISHABLE_KEY": localstripe.publishable_key,
            "CHECKOUT_STRIPE_API_BASE": localstripe.api_base,
            "CHECKOUT_STRIPE_JS_URL": localstripe.js_url,
            "CHECKOUT_SITE_URL": f"http://127.0.0.1:{port}",
        }
    )
    run([*manage, "check"], cwd=site, env=env)

    # Step 8: register the webhook (twice: the second run replaces the first); the
    # secret is printed once.
    webhook_url = f"http://127.0.0.1:{port}/checkout/webhooks/spectra/"
    for _ in range(2):
        out = run([*manage, "checkout_register_webhook", "--url", webhook_url], cwd=site, env=env)
    secret = re.search(r"shown once, store it now\):\s+(\S+)", out)
    assert secret, out
    env["CHECKOUT_WEBHOOK_SECRET"] = secret.group(1)

    # Step 9: the doctor passes, the mail server included.
    doctor = run([*manage, "checkout_doctor"], cwd=site, env=env)
    assert "All checks passed." in doctor
    if sandbox_reset.documented:
        # No GET /webhooks to list subscriptions: the doctor waits for a signed delivery.
        assert "no signed delivery has arrived yet" in doctor
    else:
        assert webhook_url in doctor
    assert "connection not tried" not in doctor

    first = requests.get(
        f"{sandbox_reset.api_base}/products",
        headers={"Authorization": f"Bearer {sandbox_reset.test_key}"},
        params={"per_page": 1},
        timeout=10,
    ).json()["data"][0]
    product = first["name"]
    sku = next(v["sku"] for v in first["variants"] if v["quantity_available"] > 0)

    with runserver(manage, cwd=site, env=env, port=port, ready_path="/admin/login/") as base:
        admin = requests.get(f"{base}/admin/login/", timeout=10)
        # The site has no Content-Security-Policy: its pages get none from the app, the
        # checkout's pages get the checkout's own.
        assert "Content-Security-Policy" not in admin.headers
        home = requests.get(f"{base}/", timeout=10)
        assert home.text == "Welcome to the merchant's own home page"
        assert "Content-Security-Policy" not in home.headers
        storefront = requests.get(f"{base}/shop/", timeout=10)
        assert storefront.status_code == 200
        assert product in storefront.text
        stripe_origin = "{0.scheme}://{0.netloc}".format(urlsplit(localstripe.js_url))
        policy = storefront.headers["Content-Security-Policy"]
        assert f"script-src 'self' {stripe_origin};" in policy
        # A product from the site's own page into the checkout's cart (cart-add).
        browser = requests.Session()
        browser.get(f"{base}/shop/products/{first['id']}/", timeout=10)  # the CSRF cookie
        added = browser.post(
            f"{base}/checkout/cart/add/",
            data={"sku": sku, "quantity": "1", "next": "/checkout/cart/"},
            headers={"X-CSRFToken": browser.cookies.get("csrftoken", ""), "Referer": base},
            timeout=10,
        )
        assert added.status_code == 200, added.text[:2000]
        assert added.url == f"{base}/checkout/cart/"
        assert "was added to your cart" in added.text
        assert "<title>Your cart · My Shop</title>" in added.text
        assert requests.get(f"{base}/static/checkout/checkout.css", timeout=10).status_code == 200
