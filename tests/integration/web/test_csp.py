"""The Content-Security-Policy of the checkout's pages and of the site's own pages.

The demo site sets a site-wide policy (django-csp on Django 5.2, Django's own middleware on
6.x); the checkout's views add Stripe.js to it on their pages only. Without a site policy
the checkout's pages carry the checkout's own and the site's pages carry none.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from .conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HEADER = "Content-Security-Policy"
SITE_CSP_MIDDLEWARE = (
    "csp.middleware.CSPMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)


def directives(policy: str) -> dict[str, list[str]]:
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def payment_page(client: Client) -> Any:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    response = client.get("/checkout/payment/")
    assert response.status_code == 200
    return response


def stripe_origin(settings: Any) -> str:
    return "{0.scheme}://{0.netloc}".format(urlsplit(settings.CHECKOUT_STRIPE_JS_URL))


def test_the_payment_page_allows_stripe_js_within_the_sites_policy(
    client: Client, shop: Any, settings: Any
) -> None:
    assert any(m in settings.MIDDLEWARE for m in SITE_CSP_MIDDLEWARE)
    policy = directives(payment_page(client)[HEADER])
    stripe = stripe_origin(settings)
    assert policy["script-src"] == ["'self'", stripe]
    assert stripe in policy["frame-src"]
    assert stripe in policy["connect-src"]
    assert "'none'" not in policy["frame-src"]
    # The site's own directives.
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


def test_the_sites_own_pages_get_nothing_from_the_checkout(
    client: Client, shop: Any, settings: Any
) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    policy = directives(response[HEADER])
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-src"] == ["'none'"]
    assert stripe_origin(settings) not in response[HEADER]


def test_without_a_site_policy_only_the_checkouts_pages_carry_one(
    client: Client, shop: Any, settings: Any
) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m not in SITE_CSP_MIDDLEWARE]
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert HEADER not in response
    storefront = client.get("/")
    assert storefront.status_code == 200
    assert HEADER in storefront
    policy = directives(payment_page(client)[HEADER])
    assert policy["script-src"] == ["'self'", stripe_origin(settings)]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
