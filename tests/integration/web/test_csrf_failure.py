"""A refused post (expired page, lost cookie) on a checkout view shows the checkout's own
page with the way back, with no CSRF_FAILURE_VIEW to set; the site's views keep theirs."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client

from .conftest import ADDRESS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SITE_FAILURE = "The site's own CSRF page"
SECRET = "s3cr3t" * 5 + "ab"  # a CSRF secret has 32 characters


def site_csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return HttpResponse(SITE_FAILURE, status=403)


@pytest.fixture
def stale(settings: Any) -> Client:
    """A browser whose page is older than its CSRF cookie: every post is refused."""
    assert not hasattr(settings, "CSRF_FAILURE_VIEW") or (
        settings.CSRF_FAILURE_VIEW == "django.views.csrf.csrf_failure"
    )
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = SECRET  # from an earlier page
    return client


@pytest.mark.parametrize(
    ("path", "back_to"),
    [
        ("/checkout/information/", "/checkout/information/"),
        ("/checkout/shipping/", "/checkout/shipping/"),
        ("/checkout/payment/", "/checkout/payment/"),
        ("/checkout/promo/", "/checkout/payment/"),
        ("/checkout/gift-card/", "/checkout/payment/"),
        ("/cart/items/abc/update/", "/cart/"),
    ],
)
def test_a_refused_post_shows_the_checkouts_page_with_the_step_link(
    stale: Client, path: str, back_to: str
) -> None:
    response = stale.post(path, ADDRESS)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Please reload the page" in page
    assert "Nothing was charged" in page
    assert "Allow cookies" not in page
    assert f'href="{back_to}" data-testid="csrf-return"' in page
    assert "CSRF verification failed" not in page  # not Django's developer page
    assert "no-store" in response["Cache-Control"]
    # The checkout's page, in the site's layout, with the checkout's stylesheet.
    assert "checkout/checkout.css" in page


def test_a_refused_post_without_the_cookie_says_to_allow_cookies() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/checkout/information/", ADDRESS)
    assert response.status_code == 403
    assert "Allow cookies for this site" in response.content.decode()


def test_the_machine_endpoints_answer_json(stale: Client) -> None:
    for path in ("/checkout/pay/", "/checkout/place/"):
        response = stale.post(path, "{}", content_type="application/json")
        assert response.status_code == 403
        assert response.json()["reason"] == "csrf_failed"


def test_the_sites_own_views_keep_the_sites_csrf_failure_handling(
    stale: Client, settings: Any
) -> None:
    response = stale.post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "CSRF verification failed" in response.content.decode()  # Django's own page
    settings.CSRF_FAILURE_VIEW = f"{__name__}.site_csrf_failure"
    assert stale.post("/admin/login/", {"username": "x"}).content.decode() == SITE_FAILURE
    # ... while the checkout's views still show the checkout's page.
    page = stale.post("/checkout/information/", ADDRESS).content.decode()
    assert "Please reload the page" in page


def test_a_post_with_its_token_still_goes_through(stale: Client) -> None:
    response = stale.post("/checkout/information/", {**ADDRESS, "csrfmiddlewaretoken": SECRET})
    assert response.status_code != 403


def test_a_refused_add_to_cart_links_back_to_the_merchants_page(stale: Client) -> None:
    response = stale.post(
        "/cart/add/", {"sku": "X", "quantity": "1"}, HTTP_REFERER="http://testserver/phones/13/"
    )
    assert response.status_code == 403
    assert (
        'href="http://testserver/phones/13/" data-testid="csrf-return"' in response.content.decode()
    )
    elsewhere = stale.post(
        "/cart/add/", {"sku": "X"}, HTTP_REFERER="https://evil.example/phishing/"
    ).content.decode()
    assert 'href="/cart/" data-testid="csrf-return"' in elsewhere
