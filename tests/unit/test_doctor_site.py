"""The doctor's URL check: the checkout reverses, resolves to itself, and leaves ``/`` alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path

from checkout.doctor import FAIL, OK, WARN
from checkout.doctor.site import check_urls


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Merchant home")


class MerchantSite:
    """As docs/install.md says: the site's home, the checkout and the catalog under prefixes."""

    urlpatterns = [
        path("", home, name="home"),
        path("checkout/", include("checkout.urls")),
        path("shop/", include("checkout.urls_storefront")),
    ]


class CatalogOverTheHomePage:
    urlpatterns = [
        path("", include("checkout.urls_storefront")),
        path("", home, name="home"),  # never reached
        path("checkout/", include("checkout.urls")),
    ]


class NoCheckout:
    urlpatterns = [path("", home, name="home")]


class CatchAllFirst:
    urlpatterns = [
        path("", home, name="home"),
        re_path(r"^checkout/.*$", home, name="pages"),  # the site's CMS takes everything
        path("checkout/", include("checkout.urls")),
    ]


class CheckoutAtTheRoot:
    urlpatterns = [path("", home, name="home"), path("", include("checkout.urls"))]


@pytest.fixture
def urlconf(settings: Any) -> Any:
    def use(conf: type) -> None:
        settings.ROOT_URLCONF = conf

    settings.CHECKOUT_SITE_URL = "https://shop.example.com"
    return use


def test_the_install_guides_mounting_passes_and_names_the_webhook_urls(urlconf: Any) -> None:
    urlconf(MerchantSite)
    result = check_urls()
    assert result.status == OK, result
    assert "https://shop.example.com/checkout/webhooks/spectra/" in result.detail
    assert "https://shop.example.com/checkout/webhooks/stripe/" in result.detail


def test_the_demo_catalog_over_the_home_page_fails(urlconf: Any) -> None:
    urlconf(CatalogOverTheHomePage)
    result = check_urls()
    assert result.status == FAIL
    assert "home page /" in result.detail
    assert "product-list" in result.detail


def test_a_site_without_the_checkouts_urls_fails(urlconf: Any) -> None:
    urlconf(NoCheckout)
    result = check_urls()
    assert result.status == FAIL
    assert 'include("checkout.urls")' in result.detail


def test_a_pattern_that_takes_the_checkouts_paths_first_fails(urlconf: Any) -> None:
    urlconf(CatchAllFirst)
    result = check_urls()
    assert result.status == FAIL
    assert "/checkout/cart/ is answered by pages" in result.detail


def test_the_checkout_at_the_sites_root_is_a_warning(urlconf: Any) -> None:
    urlconf(CheckoutAtTheRoot)
    result = check_urls()
    assert result.status == WARN
    assert "prefix" in result.detail


def test_the_demo_site_may_have_its_catalog_at_the_root(settings: Any) -> None:
    settings.ROOT_URLCONF = "config.urls"
    assert check_urls().status == OK


def test_a_webhook_url_that_is_not_the_sites_fails(urlconf: Any) -> None:
    urlconf(MerchantSite)
    result = check_urls(webhook_url="https://shop.example.com/webhooks/spectra/")
    assert result.status == FAIL
    assert "/checkout/webhooks/spectra/" in result.detail
    # A prefix of the proxy's in front of the site's own path is fine.
    behind = check_urls(webhook_url="https://example.com/shop/checkout/webhooks/spectra/")
    assert behind.status == OK
