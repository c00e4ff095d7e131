"""Configuration: ``check --deploy`` is clean with production settings, the security
headers are sent, the site's Content-Security-Policy is the site's own, and the payment
page works under the policy it gets (the site's, with Stripe.js added by the checkout)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.integration.checkout.support import Live
from tests.integration.web.conftest import add_to_cart, complete_information, complete_shipping

from .conftest import ROOT, Figures

pytestmark = [pytest.mark.integration]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "prod-" + "k3y-" * 16,
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "DATABASE_URL": "postgres://shop@127.0.0.1:5432/shop",
    "CACHE_URL": "locmemcache://",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CHECKOUT_SPECTRA_API_KEY": "spk_live_configtest",
    "CHECKOUT_STRIPE_SECRET_KEY": "sk_live_configtest",
    "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_live_configtest",
    "CHECKOUT_WEBHOOK_SECRET": "whsec_configtest",
    "CHECKOUT_SITE_URL": "https://shop.example.com",
}
PROBE = r"""
import json, django
django.setup()
from django.test import Client
# A page that renders no template: the production static manifest needs collectstatic.
response = Client().get("/webhooks/spectra/", secure=True, HTTP_HOST="shop.example.com")
print(json.dumps({"status": response.status_code, "headers": dict(response.headers)}))
"""
POOL_PROBE = r"""
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    print(cursor.fetchone()[0], connection.pool is not None)
connection.close()
"""


def production(*args: str) -> subprocess.CompletedProcess[str]:
    return production_with(PRODUCTION_ENV, *args)


def production_with(variables: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHECKOUT_", "DJANGO_"))}
    env.update(variables)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_is_clean_with_production_settings(figures: Figures) -> None:
    started = time.monotonic()
    result = production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    figures.record(
        "config-deploy",
        scenario="Configuration: check --deploy",
        done="manage.py check --deploy --fail-level WARNING with config.settings.production "
        "and a complete environment",
        expected="no issues",
        observed=result.stdout.strip().splitlines()[-1],
        seconds=time.monotonic() - started,
    )


def production_headers() -> dict[str, Any]:
    result = production("-c", PROBE)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_security_headers_in_production() -> None:
    probe = production_headers()
    headers = probe["headers"]
    assert probe["status"] == 405
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_production_sends_the_sites_content_security_policy() -> None:
    policy = directives(production_headers()["headers"]["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "stripe" not in str(policy)  # only the checkout's own pages allow Stripe.js


def directives(policy: str) -> dict[str, list[str]]:
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def test_production_serves_queries_through_the_connection_pool() -> None:
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    pooled = {
        **PRODUCTION_ENV,
        "DATABASE_URL": url._replace(path="/postgres").geturl(),
        "DATABASE_POOL": "true",
    }
    result = production_with(pooled, "-c", POOL_PROBE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "1 True"


@pytest.mark.django_db
def test_payment_page_works_under_the_policy(live: Live, client: Client) -> None:
    """Every script on the payment page is from an allowed origin; none is inline code."""
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    response = client.get("/checkout/payment/")
    policy = directives(response["Content-Security-Policy"])
    stripe_origin = "{0.scheme}://{0.netloc}".format(urlsplit(live.localstripe.js_url))
    assert stripe_origin in policy["script-src"]
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        src = re.search(r'src="([^"]+)"', tag)
        if src is None:
            assert 'type="application/json"' in tag, tag  # data, never executed
            continue
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(src[1])) if "://" in src[1] else "'self'"
        assert origin in policy["script-src"], tag
    assert " style=" not in html
    assert " onclick=" not in html.lower()
